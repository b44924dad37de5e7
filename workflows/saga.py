"""Compensation (saga): undo steps registered before their step, run in reverse."""

from collections.abc import Awaitable, Callable

from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import OrderTracker, failure_text

Undo = Callable[[int], Awaitable[None]]  # called with the attempt number (1, 2, …)


class Saga:
    """Each undo is idempotent (it removes what is present) and runs at most until it
    succeeds; the ones that failed stay, named, for a person to have them tried again."""

    def __init__(self, tracker: OrderTracker) -> None:
        self._tracker = tracker
        self._undos: list[tuple[str, Undo]] = []
        self.failed: list[tuple[str, Undo]] = []
        self._attempt = 0

    def add(self, name: str, undo: Undo) -> None:
        """Register the undo of a step before the step runs."""
        self._undos.append((name, undo))

    async def compensate(self) -> list[str]:
        """Run the pending undos in reverse order (then those that failed before, again);
        return the names of those that failed."""
        pending = list(reversed(self._undos)) + self.failed
        self._undos, self.failed = [], []
        self._attempt += 1
        for name, undo in pending:
            try:
                await undo(self._attempt)
            except (ActivityError, ApplicationError) as error:
                self.failed.append((name, undo))
                await self._tracker.note(f"compensation failed: {name}", detail=failure_text(error))
            else:
                await self._tracker.note(f"compensated: {name}")
        return [name for name, _ in self.failed]
