"""The order store's stand-in for the provinces-only baseline: what the activities ask of the
store (an order's members by page and by batch step, their results, correlation references,
password versions) kept in this process's memory, so that only the provinces' calls remain."""

import secrets
from collections import Counter

from models.hub import WorkOrderReference
from models.members import BatchRef, ItemState, MemberCounts


class _Item:
    __slots__ = ("msisdn", "state", "home", "batch")

    def __init__(self, msisdn: str) -> None:
        self.msisdn, self.state, self.home, self.batch = msisdn, ItemState.requested, None, None


class MemoryMembers:
    """An order's items: its members in staging order, their state, home province and batch."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, _Item]] = {}

    def stage(self, order_no: str, numbers: list[str]) -> None:
        self.orders[order_no] = {msisdn: _Item(msisdn) for msisdn in numbers}

    def page_numbers(self, order_no: str, offset: int, limit: int) -> list[str]:
        return list(self.orders[order_no])[offset:offset + limit]

    def record_results(self, order_no: str, results: dict[str, tuple[str, str | None, str]], *,
                       stage: str = "", homes: dict[str, str] | None = None) -> None:
        items = self.orders[order_no]
        for msisdn, (state, _code, _detail) in results.items():
            items[msisdn].state = state
            items[msisdn].home = (homes or {}).get(msisdn, items[msisdn].home)

    def assign_batches(self, order_no: str, size: int) -> list[BatchRef]:
        """The valid members cut into batches per home province, in staging order."""
        counts: Counter[str] = Counter()
        for item in self.orders[order_no].values():
            if item.state == ItemState.valid:
                item.batch = counts[item.home] // size + 1
                counts[item.home] += 1
        return [BatchRef(home_province=home, batch_no=n, size=min(size, count - (n - 1) * size))
                for home, count in sorted(counts.items()) for n in range(1, (count - 1) // size + 2)]

    def batches_once_verified(self, order_no: str, size: int) -> list[BatchRef] | None:
        """The batches once no member waits for verification (None while some still wait)."""
        if any(item.state == ItemState.requested for item in self.orders[order_no].values()):
            return None
        return self.assign_batches(order_no, size)

    def item_counts(self, order_no: str) -> MemberCounts:
        by_state = Counter(item.state for item in self.orders[order_no].values())
        return MemberCounts(requested=sum(by_state.values()), home_done=by_state[ItemState.home_done],
                            done=by_state[ItemState.done], invalid=by_state[ItemState.invalid],
                            failed=by_state[ItemState.failed])


class MemoryBatchSteps:
    """The members each batch step acts on, fixed when the step first asks."""

    def __init__(self, members: MemoryMembers) -> None:
        self._members = members
        self._fixed: dict[str, list[str]] = {}

    def members(self, step_key: str, order_no: str, home_province: str, batch_no: int, state: str,
                failed_stage: str | None = None) -> list[str]:
        if step_key not in self._fixed:
            self._fixed[step_key] = [item.msisdn for item in self._members.orders[order_no].values()
                                     if (item.home, item.batch, item.state) == (home_province, batch_no, state)]
        return self._fixed[step_key]

    def advance(self, step_key: str, order_no: str, home_province: str, batch_no: int, from_state: str,
                to_state: str) -> int:
        items = self._members.orders[order_no]
        moving = [items[m] for m in self._fixed[step_key] if items[m].state == from_state]
        for item in moving:
            item.state = to_state
        return len(moving)


class MemoryCorrelations:
    """Work orders' references, as the door would resolve them."""

    def __init__(self) -> None:
        self._by_key: dict[str, str] = {}
        self._sent: dict[str, WorkOrderReference] = {}

    def reference(self, work_order: WorkOrderReference) -> str:
        if work_order.idempotency_key not in self._by_key:
            reference = secrets.token_urlsafe(18)
            self._by_key[work_order.idempotency_key], self._sent[reference] = reference, work_order
        return self._by_key[work_order.idempotency_key]

    def resolve(self, reference: str) -> WorkOrderReference | None:
        return self._sent.get(reference)


class MemoryPasswords:
    @staticmethod
    def issued_version(key: str, current: int) -> int:
        return current


class MemoryStore:
    """What the province activities read and write of the order store, in memory."""

    def __init__(self) -> None:
        self.members = MemoryMembers()
        self.batch_steps = MemoryBatchSteps(self.members)
        self.correlations = MemoryCorrelations()
        self.passwords = MemoryPasswords()
