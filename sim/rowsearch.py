"""Finding a fleet's rows by their tally key, and drawing rows at random among them.

In rig resolution the rules decide how many rigs of each cell of the tally do something
(sim/cohorts.py); these functions name the rows that carry them. `rows_with` is one pass over
the key column, narrowed first by a byte comparison of the status when the keys share one
(in large fleets these passes are compiled where numba is installed: sim/compiled.py);
`pick` draws rows uniformly without replacement, by drawing row indices at random when few
are wanted and by one pass otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from sim import compiled, kernels

if TYPE_CHECKING:
    from sim.state import Fleet

IntArray = NDArray[np.int64]

#: Where drawing rows at random would take more than this share of the fleet in draws, one
#: pass over the key column is cheaper.
DRAW_SHARE = 1 / 32
#: Fleets of more rows than this are searched by the passes of sim/compiled.py (compiled
#: where numba is installed), narrowed first by status where the keys share one that at most
#: SPARSE_SHARE of the rows hold.
LARGE = 1 << 16
SPARSE_SHARE = 1 / 4


def rows_with(fleet: Fleet, keys: NDArray[np.integer]) -> NDArray[np.intp]:
    """Rows whose key is one of `keys`, in row order (one pass over the key column, or over
    the status column first)."""

    n = fleet.size
    wanted = np.zeros(len(fleet._tally), dtype=bool)
    wanted[keys] = True
    key = fleet.cols["key"][:n]
    status = _sparse_status(fleet, keys) if n > LARGE else None
    if status is not None:  # a byte comparison narrows the rows first
        return compiled.rows_equal(fleet.cols["status"][:n], status, key, wanted)
    return compiled.rows_wanted(key, wanted, large=n > LARGE)


def _sparse_status(fleet: Fleet, keys: NDArray[np.integer]) -> int | None:
    """The status all `keys` share, if few rows hold it (else a pass over the keys alone is
    cheaper than one over the status and then the keys of most rows)."""
    from sim.state import NUM_SUBS, SUB_STATUS

    statuses = np.unique(SUB_STATUS[np.unique(np.asarray(keys) % NUM_SUBS)])
    if len(statuses) != 1:
        return None
    status = int(statuses[0])
    return status if fleet.total_by_status()[status] <= fleet.size * SPARSE_SHARE else None


class Timers:
    """Rig resolution: the rows whose timer was set, by the day it was set to fire.

    The fleet files every write of a timer here (:meth:`file`); :meth:`due` takes the rows
    filed for days up to today and keeps those whose timer still says so. A row's timer is
    read where it is filed, so a timer changed or cleared since is dropped then."""

    def __init__(self) -> None:
        self.by_day: dict[int, list[NDArray[np.intp]]] = {}
        # writes since the last filing: filed together, one sort a day instead of one a write
        self._staged: list[tuple[NDArray[np.intp], NDArray[np.integer] | int]] = []

    def file(self, rows: NDArray[np.intp], t_due: NDArray[np.integer] | int) -> None:
        """`rows` have their timers set to `t_due` (one day, or one per row; NEVER: none)."""
        from sim.state import NEVER

        if np.ndim(t_due) == 0:
            if t_due != NEVER and len(rows):  # a timer cleared needs no filing
                self._staged.append((np.array(rows, dtype=np.intp), t_due))
            return
        running = np.flatnonzero(np.asarray(t_due) != NEVER)
        if len(running):
            self._staged.append((np.asarray(rows, dtype=np.intp)[running],
                                 np.asarray(t_due)[running]))

    def _file_staged(self) -> None:
        if not self._staged:
            return
        staged, self._staged = self._staged, []
        rows = np.concatenate([r for r, _ in staged])
        days = np.concatenate([np.broadcast_to(np.asarray(d, dtype=np.int64), r.shape)
                               for r, d in staged])
        first = int(days.min())
        offset = days - first
        span = int(offset.max()) + 1
        if span == 1:
            self.by_day.setdefault(first, []).append(rows)
            return
        # by day: a stable (radix) sort of the offsets, then one slice per day
        order, bounds = kernels.group_order(offset, span)
        rows = rows[order]
        for j in np.flatnonzero(bounds[1:] > bounds[:-1]).tolist():
            self.by_day.setdefault(first + j, []).append(rows[bounds[j]:bounds[j + 1]])

    def due(self, fleet: Fleet, day: int) -> NDArray[np.intp]:
        """Rows whose timer fires on or before `day`, in row order."""
        self._file_staged()
        days = [d for d in self.by_day if d <= day]
        if not days:
            return np.zeros(0, dtype=np.intp)
        filed = np.sort(np.concatenate([rows for d in days for rows in self.by_day.pop(d)]))
        filed = filed[np.concatenate([[True], filed[1:] != filed[:-1]])]  # distinct
        return filed[fleet.cols["t_due"][filed] <= day]

    def check(self, t_due: NDArray[np.int32]) -> None:
        """Raise unless every running timer is filed under its day (a timer :meth:`due` gave
        out is cleared by the step; one left running would be found by a daily pass again,
        and not here)."""
        from sim.state import NEVER

        self._file_staged()
        pending = np.flatnonzero(t_due != NEVER)
        for day in np.unique(t_due[pending]).tolist():
            filed = self.by_day.get(day, [])
            rows = pending[t_due[pending] == day]
            if not np.isin(rows, np.concatenate([np.zeros(0, np.intp), *filed])).all():
                raise AssertionError(f"a timer for day {day} is not filed")


def rows_due(fleet: Fleet, day: int) -> NDArray[np.intp]:
    """Rows whose timer fires on or before `day`, in row order: from the fleet's filed timers
    in rig resolution, else by one pass over the timers."""
    if fleet.timers is not None:
        return fleet.timers.due(fleet, day)
    return np.flatnonzero(fleet.cols["t_due"][: fleet.size] <= day)


def pick(fleet: Fleet, rng: np.random.Generator, keys: IntArray, want: IntArray,
         shuffled: bool = True) -> NDArray[np.intp]:
    """Rig resolution: `want[i]` rows drawn uniformly without replacement among the rows of
    key `keys[i]` (distinct keys), concatenated in the order of `keys`, each key's rows in
    random order (unless not `shuffled`, where a key is taken whole).

    Where few rows are wanted relative to their key's population, rows are found by drawing
    row indices uniformly and keeping, per key, the first distinct ones that carry it (no pass
    over the fleet); otherwise one pass finds the key's rows and a sample is drawn among them.
    Both give each subset of the right size the same probability.
    """
    keys = np.asarray(keys, dtype=np.int64)
    want = np.asarray(want, dtype=np.int64)
    sel = want > 0
    keys, want = keys[sel], want[sel]
    if len(keys) == 0:
        return np.zeros(0, dtype=np.intp)
    pop = fleet._tally[keys]
    if np.any(want > pop):
        raise ValueError("more rows wanted than a key holds")
    slot = np.full(len(fleet._tally), -1, dtype=np.int64)
    slot[keys] = np.arange(len(keys))
    n = fleet.size
    draws = float(np.max(want / pop)) * n  # expected row draws to collect every key's share
    if draws <= n * DRAW_SHARE:
        return _pick_by_drawing(fleet, rng, slot, want, draws)
    rows, bounds = _rows_by_key(fleet, keys, slot)
    # each key's sample in random order (so that consecutive slices are random too)
    parts = [(rows[lo:hi][rng.permutation(hi - lo)] if shuffled else rows[lo:hi])
             if k == hi - lo else rows[lo:hi][rng.choice(hi - lo, size=k, replace=False)]
             for lo, hi, k in zip(bounds[:-1], bounds[1:], want.tolist(), strict=True)]
    return np.concatenate(parts).astype(np.intp)


def _rows_by_key(fleet: Fleet, keys: IntArray, slot: IntArray
                 ) -> tuple[NDArray[np.intp], IntArray]:
    """The rows of `keys` (``slot[keys]`` = 0, 1, …), grouped by key in that order, each key's
    in row order; with the bounds of each key's rows."""
    n = fleet.size
    status = _sparse_status(fleet, keys) if n > LARGE else None
    return compiled.rows_by_slot(fleet.cols["key"][:n], slot, len(keys),
                                 None if status is None else fleet.cols["status"][:n],
                                 status or 0, large=n > LARGE)


def _pick_by_drawing(fleet: Fleet, rng: np.random.Generator, slot: IntArray, want: IntArray,
                     draws: float) -> NDArray[np.intp]:
    key = fleet.cols["key"]
    found = np.zeros(0, dtype=np.int64)
    while True:
        more = rng.integers(0, fleet.size, size=int(draws * 1.2) + 64)
        found = np.concatenate([found, more[slot[key[more]] >= 0]])
        found = compiled.distinct_in_order(found, fleet.size, fleet.size > LARGE)  # as drawn
        which = slot[key[found]]
        order = np.argsort(which, kind="stable")
        bounds = np.searchsorted(which[order], np.arange(len(want) + 1))
        if np.all(np.diff(bounds) >= want):
            return np.concatenate([found[order[lo:lo + k]] for lo, k in
                                   zip(bounds[:-1], want.tolist(), strict=False)]
                                  ).astype(np.intp)
        draws = max(draws, 64.0)
