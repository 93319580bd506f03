"""The fleet table: splitting rows, merging them, conservation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

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


def _assert_uniform_picks(fleet: Fleet, rng: np.random.Generator, key: int, want: int) -> None:
    """Take `want` rows of `key` 4,000 times: every row of the key is drawn equally often, and
    no other row ever. Inclusion counts are not independent, but chi² with (rows − 1) degrees
    of freedom bounds them from above; the bound is its 0.999 quantile."""
    members = np.flatnonzero(fleet.key == key)
    hits = np.zeros(fleet.size)
    for _ in range(4000):
        rows = fleet.pick(rng, np.array([key]), np.array([want]))
        assert len(np.unique(rows)) == want and np.all(fleet.key[rows] == key)
        hits[rows] += 1
    expected = 4000 * want / len(members)
    chi2 = float((((hits[members] - expected) ** 2) / expected).sum())
    assert chi2 < stats.chi2.ppf(0.999, len(members) - 1)
    assert hits[np.setdiff1d(np.arange(fleet.size), members)].sum() == 0


def _fleet_with_a_cell(single: bool) -> tuple[Fleet, int]:
    """200 rows, 40 of them (every fifth) in a cell of their own; the cell's key."""
    fleet = Fleet.empty(single=single)
    region = np.where(np.arange(200) % 5 == 0, 1, 0)
    fleet.append(count=np.ones(200, dtype=np.int64), status=ONLINE, region=region, pool=0, hw=0)
    return fleet, int(fleet.key[0])


def test_picks_from_kept_cells_follow_the_rows_and_are_uniform(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Rig resolution keeps the rows of a small cell after a pass (rowsearch.Cells): rows that
    leave it or enter it later are followed, and a pick from the kept rows, however few are
    wanted, still draws every row of the cell equally often."""
    monkeypatch.setattr(rowsearch, "KEPT_FROM", 0)
    monkeypatch.setattr(rowsearch, "KEPT_SHARE", 1 / 2)
    fleet, key_a = _fleet_with_a_cell(single=True)
    rng = np.random.default_rng(5)
    fleet.pick(rng, np.array([key_a]), np.array([30]))  # a pass: the cell's rows are kept
    assert fleet.cells is not None and fleet.cells.holds(np.array([key_a]))
    fleet.set(np.arange(0, 50, 5), region=0)  # 10 rows leave the cell,
    entering = np.array([101, 102, 103, 104, 106, 107, 108, 109, 111, 112])
    fleet.set(entering, region=1)  # 10 enter it (one write),
    fleet.set(np.array([0]), region=1)  # and one comes back
    fleet.check()  # (the kept rows are the cell's)
    assert np.count_nonzero(fleet.key == key_a) == 41 and fleet.cells.holds(np.array([key_a]))
    drawn = []
    monkeypatch.setattr(rowsearch, "_pick_by_drawing", lambda *a: drawn.append(a))
    for want in (1, 5):  # 1 of 41 would draw row indices at random, were the rows not kept
        _assert_uniform_picks(fleet, rng, key_a, want)
    assert not drawn


def test_pick_draws_every_row_of_a_key_equally_often(monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 rows of key A among 200 rows, taken 4,000 times by each search method
    fleet, key_a = _fleet_with_a_cell(single=False)
    rng = np.random.default_rng(4)
    drawing = rowsearch._pick_by_drawing
    drawn: list[int] = []
    monkeypatch.setattr(rowsearch, "_pick_by_drawing",
                        lambda *a: drawn.append(1) or drawing(*a))
    for want, draws in ((1, 4000), (5, 0), (30, 0)):  # 1 of 40: row indices drawn at random;
        drawn.clear()                                   # 5 or 30: a pass over the key's rows
        _assert_uniform_picks(fleet, rng, key_a, want)
        assert len(drawn) == draws
