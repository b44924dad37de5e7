"""Activities for fallout: the policy's answer for a failed step, and the fallout records."""

from temporalio import activity

from models.fallout import Fallout, FalloutDecision, FalloutPolicy, PolicyRule, StepFailure
from store import OrderStore


class FalloutActivities:
    def __init__(self, store: OrderStore, policy: FalloutPolicy) -> None:
        self._store = store
        self._policy = policy

    @activity.defn
    def fallout_rule(self, failure: StepFailure) -> PolicyRule:
        """What the fallout policy says to do with a step that failed for good (a read)."""
        return self._policy.rule_for(failure.order_type, failure.step, failure.system, failure.code)

    @activity.defn
    def open_fallout(self, fallout: Fallout) -> None:
        """Record a fallout on the worklist. Idempotent by fallout id."""
        self._store.fallouts.open_fallout(fallout)

    @activity.defn
    def resolve_fallout(self, decision: FalloutDecision) -> None:
        """Record the decision that closes a fallout (a person's, or the deadline's)."""
        self._store.fallouts.resolve_fallout(decision)
