"""The fleet table: splitting rows, merging them, conservation."""

from __future__ import annotations

import numpy as np
import pytest

from sim import rowsearch
from sim.state import BANNED_OFF, HIBERNATING, NEVER, ONLINE, QUEUED, Fleet


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
    fleet.set(np.array([1]), status=BANNED_OFF)
    moved = fleet.split(np.array([0]), np.array([3]))
    fleet.set(moved, status=BANNED_OFF)
    fleet.compact()
    assert fleet.size == 2
    assert sorted(zip(fleet.status.tolist(), fleet.count.tolist(), strict=True)) == [(ONLINE, 7),
                                                                        (BANNED_OFF, 8)]


def test_compact_keeps_queue_order_and_rig_rows() -> None:
    fleet = fleet_of([1, 1, 1])
    fleet.set(np.arange(3), status=QUEUED)
    fleet.t_since[:] = [3, 1, 3]
    fleet.compact(merge=False)
    assert fleet.size == 3
    fleet.compact()
    pairs = zip(fleet.t_since.tolist(), fleet.count.tolist(), strict=True)
    assert sorted(pairs) == [(1, 1), (3, 2)]


def test_totals_by_status() -> None:
    fleet = fleet_of([10, 5])
    fleet.set(np.array([1]), status=QUEUED)
    assert fleet.total_by_status()[[ONLINE, QUEUED]].tolist() == [10, 5]


def test_tally_follows_every_change_and_columns_are_read_only() -> None:
    fleet = Fleet.empty(2)
    fleet.append(count=np.array([4, 1, 7]), status=ONLINE, region=np.array([0, 1, 1]), pool=0,
                 hw=np.array([0, 0, 1]))
    assert fleet.num_groups == 3 and fleet.tally[:, ONLINE].tolist() == [4, 1, 7]
    moved = fleet.split(np.array([0, 2]), np.array([1, 7]))
    fleet.set(moved, status=BANNED_OFF, t_due=np.array([NEVER, 9]))  # the second hibernates
    fleet.set(np.array([1]), region=0)  # row 1 joins row 0's group
    fleet.check()
    by_status = fleet.tally_by_status()
    assert by_status[:, ONLINE].tolist() == [4, 0, 0] and by_status[:, BANNED_OFF].sum() == 8
    assert fleet.tally[:, HIBERNATING].sum() == 7
    for name in ("status", "count", "region", "t_due", "key"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(fleet, name)[0] = 1
    fleet.t_since[0] = 3  # not read by the tally: writable
    fleet.compact()
    fleet.check()


def test_picks_from_kept_cells_follow_the_rows_and_are_uniform(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Rig resolution keeps the rows of a small cell after a pass (rowsearch.Cells): rows that
    leave it or enter it later are followed, and a pick from the kept rows, however few are
    wanted, still draws every row of the cell equally often."""
    monkeypatch.setattr(rowsearch, "KEPT_FROM", 0)
    monkeypatch.setattr(rowsearch, "KEPT_SHARE", 1 / 2)
    fleet = Fleet.empty(single=True)
    region = np.where(np.arange(200) % 5 == 0, 1, 0)
    fleet.append(count=np.ones(200, dtype=np.int64), status=ONLINE, region=region, pool=0, hw=0)
    key_a = int(fleet.key[0])
    rng = np.random.default_rng(5)
    fleet.pick(rng, np.array([key_a]), np.array([30]))  # a pass: the cell's rows are kept
    assert fleet.cells is not None and fleet.cells.holds(np.array([key_a]))
    fleet.set(np.arange(0, 50, 5), region=0)  # 10 rows leave the cell,
    entering = np.array([101, 102, 103, 104, 106, 107, 108, 109, 111, 112])
    fleet.set(entering, region=1)  # 10 enter it (one write),
    fleet.set(np.array([0]), region=1)  # and one comes back
    fleet.check()  # (the kept rows are the cell's)
    members = np.flatnonzero(fleet.key == key_a)
    assert len(members) == 41 and fleet.cells.holds(np.array([key_a]))
    for want in (1, 5):  # 1/41 would draw row indices at random, were the rows not kept
        hits = np.zeros(fleet.size)
        for _ in range(4000):
            rows = fleet.pick(rng, np.array([key_a]), np.array([want]))
            assert len(np.unique(rows)) == want and np.all(fleet.key[rows] == key_a)
            hits[rows] += 1
        expected = 4000 * want / 41
        chi2 = float((((hits[members] - expected) ** 2) / expected).sum())
        # as below: chi² with 40 df bounds the inclusion counts; 0.999 quantile ≈ 73.4
        assert chi2 < 73.4 and hits[np.setdiff1d(np.arange(200), members)].sum() == 0


def test_pick_draws_every_row_of_a_key_equally_often() -> None:
    # 40 rows of key A among 200 rows; take 5 of them 4,000 times (both search methods).
    fleet = Fleet.empty()
    region = np.where(np.arange(200) % 5 == 0, 1, 0)
    fleet.append(count=np.ones(200, dtype=np.int64), status=ONLINE, region=region, pool=0, hw=0)
    key_a = int(fleet.key[0])
    members = np.flatnonzero(fleet.key == key_a)
    rng = np.random.default_rng(4)
    for want in (5, 30):  # 5/40 draws rows at random; 30/40 scans the key's rows
        hits = np.zeros(fleet.size)
        for _ in range(4000):
            rows = fleet.pick(rng, np.array([key_a]), np.array([want]))
            assert len(np.unique(rows)) == want and np.all(fleet.key[rows] == key_a)
            hits[rows] += 1
        expected = 4000 * want / 40
        chi2 = float((((hits[members] - expected) ** 2) / expected).sum())
        # inclusion counts are not independent, but chi² with 39 df bounds them from above;
        # 0.999 quantile of chi²(39) ≈ 72.1
        assert chi2 < 72.1 and hits[np.setdiff1d(np.arange(200), members)].sum() == 0
