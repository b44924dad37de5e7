"""Member batches as the order store carries them: which members a step acts on, and the
per-member results it writes back (so numbers never travel through workflow history)."""

import asyncio
from collections.abc import Awaitable, Callable

from activities import rejections_are_final
from models.members import BatchOutcome, ItemState, MemberStep
from store import OrderStore


class BatchMembers:
    def __init__(self, store: OrderStore) -> None:
        self._store = store

    async def numbers(self, step: MemberStep) -> list[str]:
        """The numbers of the batch's members this step acts on: fixed when the step first
        asks, so every attempt of it (a retry, a new request) sends the same set."""
        batch = step.batch
        return await asyncio.to_thread(
            self._store.batch_steps.members, step.members_key, batch.order_no, batch.home_province,
            batch.batch_no, step.acting_on, step.failed_stage)

    async def act(self, step: MemberStep, call: Callable[[list[str]], Awaitable[list[dict]]]) -> BatchOutcome:
        """Call the province's system with the step's members and record its per-member
        results; a step with no member left (all refused at an earlier stage) calls nothing."""
        numbers = await self.numbers(step)
        if not numbers:
            return BatchOutcome(ok=0, failed=0)
        with rejections_are_final():
            results = await call(numbers)
        return await self.record(step, results)

    async def plans(self, step: MemberStep) -> dict[str, tuple[dict | None, str | None]]:
        """The plan GPMS records for each member the step acts on, with its date (None: the
        standard plan): what billing must hold for a member whose plan change is undone."""
        await self.numbers(step)  # the step's set, fixed
        plans = await asyncio.to_thread(self._store.terms.step_plans, step.batch.service_id, step.members_key)
        return {m: (plan.model_dump() if plan else None, since) for m, (plan, since) in plans.items()}

    async def record(self, step: MemberStep, results: list[dict]) -> BatchOutcome:
        """Members the province refused fail at this stage with its code and text (written
        by key); the others of the step's fixed set move to `ok_state` (one statement)."""
        batch = step.batch
        failed = {r["msisdn"]: (ItemState.failed, r.get("code"), r.get("text") or "") for r in results if not r["ok"]}
        if failed:
            await asyncio.to_thread(self._store.members.record_results, batch.order_no, failed, stage=step.stage)
        if step.ok_state is not None:
            await asyncio.to_thread(self._store.batch_steps.advance, step.members_key, batch.order_no,
                                    batch.home_province, batch.batch_no, step.acting_on, step.ok_state)
        return BatchOutcome(ok=len(results) - len(failed), failed=len(failed))
