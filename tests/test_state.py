"""The fleet table: splitting rows, merging them, conservation."""

from __future__ import annotations

import numpy as np

from sim.state import BANNED_OFF, NEVER, ONLINE, QUEUED, Fleet


def fleet_of(counts: list[int]) -> Fleet:
    fleet = Fleet.empty(2)
    fleet.append(count=np.array(counts, dtype=np.int64), status=ONLINE, region=0, pool=0, hw=0)
    return fleet


def test_split_moves_part_of_a_row_and_keeps_whole_rows() -> None:
    fleet = fleet_of([10, 5, 7])
    out = fleet.split(np.array([0, 1, 2]), np.array([4, 5, 0]))
    assert out.tolist() == [3, 1]  # row 0 split into a new row 3; row 1 moved whole
    assert fleet.count.tolist() == [6, 5, 7, 4]
    assert fleet.facility[3] == -1 and fleet.t_due[3] == NEVER  # attributes copied


def test_split_of_one_row_several_ways() -> None:
    fleet = fleet_of([10])
    out = fleet.split(np.array([0, 0, 0]), np.array([2, 3, 5]))
    assert fleet.count[out].tolist() == [2, 3, 5]
    assert fleet.count[0] == 0 and fleet.count.sum() == 10


def test_compact_merges_identical_rows_and_drops_empty_ones() -> None:
    fleet = fleet_of([10, 5, 0])
    fleet.status[1] = BANNED_OFF
    moved = fleet.split(np.array([0]), np.array([3]))
    fleet.status[moved] = BANNED_OFF
    fleet.compact()
    assert fleet.size == 2
    assert sorted(zip(fleet.status.tolist(), fleet.count.tolist(), strict=True)) == [(ONLINE, 7),
                                                                        (BANNED_OFF, 8)]


def test_compact_keeps_queue_order_and_rig_rows() -> None:
    fleet = fleet_of([1, 1, 1])
    fleet.status[:] = QUEUED
    fleet.t_since[:] = [3, 1, 3]
    fleet.compact(merge=False)
    assert fleet.size == 3
    fleet.compact()
    pairs = zip(fleet.t_since.tolist(), fleet.count.tolist(), strict=True)
    assert sorted(pairs) == [(1, 1), (3, 2)]


def test_totals_by_status() -> None:
    fleet = fleet_of([10, 5])
    fleet.status[1] = QUEUED
    assert fleet.total_by_status()[[ONLINE, QUEUED]].tolist() == [10, 5]
