"""Fair sharing of the evaluator pool between concurrent runs: round-robin by batch."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class FairQueue(Generic[T]):
    """Per-run queues served in turn, so a big run cannot starve a small one."""

    def __init__(self) -> None:
        self._queues: OrderedDict[str, deque[T]] = OrderedDict()

    def add(self, run_id: str, items: Iterable[T]) -> None:
        self._queues.setdefault(run_id, deque()).extend(items)

    def remove(self, run_id: str) -> list[T]:
        """Drop a run's waiting items (cancel) and return them."""
        return list(self._queues.pop(run_id, deque()))

    def next_batch(
        self, size: int, allowance: Callable[[str], int] | None = None
    ) -> tuple[str, list[T]] | None:
        """Up to `size` items of the next run in turn that may take more.

        Args:
            size: the largest batch.
            allowance: how many more items a run may take now (its concurrency headroom);
                a run with none is skipped this turn. None means no per-run cap.

        Returns:
            (run id, items), or None when every queue is empty or every run is at its cap.
        """
        for _ in range(len(self._queues)):
            run_id, queue = next(iter(self._queues.items()))
            self._queues.move_to_end(run_id)
            if not queue:
                del self._queues[run_id]
                continue
            room = size if allowance is None else min(size, allowance(run_id))
            if room <= 0:
                continue
            batch = [queue.popleft() for _ in range(min(room, len(queue)))]
            if not queue:
                del self._queues[run_id]
            return run_id, batch
        return None

    def push_front(self, run_id: str, items: Iterable[T]) -> None:
        """Put items back at the head of a run's queue (e.g. a batch whose worker died)."""
        self._queues.setdefault(run_id, deque()).extendleft(reversed(list(items)))

    def pending(self, run_id: str | None = None) -> int:
        if run_id is not None:
            return len(self._queues.get(run_id, ()))
        return sum(len(q) for q in self._queues.values())

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._queues
