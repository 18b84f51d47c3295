"""GroupCommit: concurrent submitters share writes, each gets its own result or its own error."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from webhooks.group_commit import GroupCommit


class Recorder:
    """A write that doubles each item and remembers its batches; the first write can be held open."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()
        self.fail_on: int | None = None
        self.down = False

    def __call__(self, items):  # type: ignore[no-untyped-def]
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.first_started.set()
            assert self.release_first.wait(10)
        if self.down:
            raise ConnectionError("database went away")
        if self.fail_on in items:
            raise ValueError(f"item {self.fail_on} cannot be stored")
        return [item * 2 for item in items]


def wait_for_waiters(group: GroupCommit, count: int) -> None:
    for _ in range(1000):
        with group._mutex:
            if len(group._waiting) >= count:
                return
        threading.Event().wait(0.005)
    raise AssertionError(f"{count} submitters never queued")


def submit_during_first_write(group, write, pool, items):  # type: ignore[no-untyped-def]
    """Submit 0 and hold its write open while ``items`` queue up behind it; then let it finish."""
    first = pool.submit(group.submit, 0)
    assert write.first_started.wait(5)
    rest = [pool.submit(group.submit, item) for item in items]
    wait_for_waiters(group, len(rest))
    write.release_first.set()
    return first, rest


def test_a_lone_item_is_written_at_once():
    write = Recorder()
    write.release_first.set()
    assert GroupCommit(write).submit(21) == 42
    assert write.batches == [[21]]


def test_items_arriving_during_a_write_share_the_next_one():
    write = Recorder()
    group = GroupCommit(write)
    with ThreadPoolExecutor(9) as pool:
        first, rest = submit_during_first_write(group, write, pool, range(1, 9))
        assert first.result(5) == 0
        assert sorted(future.result(5) for future in rest) == [2 * item for item in range(1, 9)]
    assert write.batches[0] == [0]
    assert len(write.batches) == 2 and sorted(write.batches[1]) == list(range(1, 9))


def test_one_bad_item_fails_only_its_own_submitter():
    write = Recorder()
    write.fail_on = 3
    group = GroupCommit(write)
    with ThreadPoolExecutor(4) as pool:
        first, batch = submit_during_first_write(group, write, pool, (2, 3, 4))
        assert first.result(5) == 0
        assert batch[0].result(5) == 4 and batch[2].result(5) == 8
        with pytest.raises(ValueError, match="item 3 cannot be stored"):
            batch[1].result(5)
    # the batch write failed, then each item was written on its own
    assert sorted(write.batches[1]) == [2, 3, 4] and sorted(write.batches[2:]) == [[2], [3], [4]]
    assert group.submit(5) == 10  # the next batch is written as usual


def test_a_database_outage_fails_every_submitter_of_that_batch_and_no_other():
    write = Recorder()
    group = GroupCommit(write)
    write.down = True
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(group.submit, 1)
        assert write.first_started.wait(5)
        rest = [pool.submit(group.submit, item) for item in (2, 3)]
        wait_for_waiters(group, 2)
        write.release_first.set()
        for future in [first, *rest]:
            with pytest.raises(ConnectionError, match="went away"):
                future.result(5)
    write.down = False
    assert group.submit(5) == 10


def test_max_batch_caps_a_write_and_the_leader_still_gets_its_own_result():
    write = Recorder()
    group = GroupCommit(write, max_batch=3)
    with ThreadPoolExecutor(8) as pool:
        first, rest = submit_during_first_write(group, write, pool, range(1, 8))
        assert [future.result(5) for future in [first, *rest]] == [2 * item for item in range(8)]
    assert all(len(batch) <= 3 for batch in write.batches)
    assert sorted(item for batch in write.batches for item in batch) == list(range(8))


def test_a_write_returning_the_wrong_number_of_results_is_an_error():
    group = GroupCommit(lambda items: [])
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        group.submit(1)


def test_many_threads_each_get_their_own_result_and_nothing_is_written_twice():
    """Hand-offs under contention: small batches force leaders to lead twice and pass the lead on."""
    written: list[int] = []
    lock = threading.Lock()

    def write(items):
        threading.Event().wait(0.0005)
        with lock:
            written.extend(items)
        return [-item for item in items]

    group = GroupCommit(write, max_batch=3)

    def submitter(base: int) -> list[int]:
        return [group.submit(base + n) for n in range(150)]

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(submitter, [1000 * k for k in range(12)], timeout=60))
    assert results == [[-(1000 * k + n) for n in range(150)] for k in range(12)]
    assert sorted(written) == sorted(1000 * k + n for k in range(12) for n in range(150))
