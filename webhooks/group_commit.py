"""Group commit: concurrent requests share one write instead of paying for one each.

A webhook may only be acknowledged once it is durable, so each delivery used to cost its
own INSERT, commit (a WAL flush) and Redis call while Shopify waited. Under load most of
that is per-statement overhead. Here the first thread to find no write in flight becomes
the leader: it writes every item waiting at that moment (its own included) in one call,
then wakes the members of that batch and hands the lead to the oldest item still waiting.
Items that arrive during a write wait for the next one, so batches grow with load while
a lone request waits for nobody (no timer). This is the scheme databases use for their
own log flushes. Each waiter sleeps on a lock of its own, so a write wakes exactly the
threads it concerns.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Slot(Generic[Item, Result]):
    """One submitted item; ``wake`` is held until its thread should look again (done, or leading)."""

    __slots__ = ("item", "done", "result", "error", "wake")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.wake = threading.Lock()
        self.wake.acquire()


class GroupCommit(Generic[Item, Result]):
    """Runs ``write`` on batches of concurrently submitted items; one batch at a time.

    ``write`` gets the items in arrival order and returns one result per item. If it
    raises, each item is written on its own, so one bad item fails only its own submitter;
    nothing is acknowledged that was not written. ``after_write`` (follow-up work such as scheduling) runs in the
    leader once the batch has been handed back, so the next batch need not wait for it.
    """

    def __init__(self, write: Callable[[Sequence[Item]], Sequence[Result]],
                 after_write: Callable[[Sequence[Result]], None] | None = None, max_batch: int = 100) -> None:
        self._write = write
        self._after_write = after_write
        self._max_batch = max_batch
        self._mutex = threading.Lock()
        self._waiting: list[_Slot[Item, Result]] = []
        self._writing = False

    def submit(self, item: Item) -> Result:
        """Block until ``item`` has been written (by this thread or another); return its result."""
        slot: _Slot[Item, Result] = _Slot(item)
        with self._mutex:
            self._waiting.append(slot)
            leading = not self._writing
            self._writing = True
        if not leading:
            slot.wake.acquire()  # woken when written, or when handed the lead
        while not slot.done:  # leading: write the oldest waiting items (this one may need a second batch)
            with self._mutex:
                batch, self._waiting = self._waiting[:self._max_batch], self._waiting[self._max_batch:]
            self._lead(batch, slot)
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _write_checked(self, items: list[Item]) -> Sequence[Result]:
        results = self._write(items)
        if len(results) != len(items):
            raise RuntimeError(f"write returned {len(results)} results for {len(items)} items")
        return results

    def _outcomes(self, items: list[Item]) -> list[tuple[Result | None, BaseException | None]]:
        """Each item's result or error: one write for the batch, or one each if the batch write fails.

        A batch fails as a whole when any one item is bad, so the items are written again one by
        one: only the bad item's submitter gets its error, and the others are written.
        """
        try:
            return [(result, None) for result in self._write_checked(items)]
        except BaseException as exc:
            if len(items) == 1:
                return [(None, exc)]
        outcomes: list[tuple[Result | None, BaseException | None]] = []
        for item in items:
            try:
                outcomes.append((self._write_checked([item])[0], None))
            except BaseException as exc:
                outcomes.append((None, exc))
        return outcomes

    def _lead(self, batch: list[_Slot[Item, Result]], own: _Slot[Item, Result]) -> None:
        outcomes = self._outcomes([slot.item for slot in batch])
        successor = None
        with self._mutex:
            for slot, (result, error) in zip(batch, outcomes):
                slot.done, slot.result, slot.error = True, result, error
            if own.done:  # hand the lead on, or end it; a leader still waiting for its own item keeps it
                if self._waiting:
                    successor = self._waiting[0]
                else:
                    self._writing = False
        for slot in batch:
            if slot is not own:
                slot.wake.release()
        if successor is not None:
            successor.wake.release()
        written = [result for result, error in outcomes if error is None]
        if written and self._after_write is not None:
            self._after_write(written)  # type: ignore[arg-type]
