"""Finding a fleet's rows by their tally key, and drawing rows at random among them.

In rig resolution the rules decide how many rigs of each cell of the tally do something
(sim/cohorts.py); these functions name the rows that carry them. `rows_with` is one pass over
the key column, narrowed first by a byte comparison of the status when the keys share one
(in large fleets these passes are compiled where numba is installed: sim/compiled.py);
`pick` draws rows uniformly without replacement, by drawing row indices at random when few
are wanted and by one pass otherwise, or from the rows of small cells that an earlier pass
found and the fleet kept up to date (`Cells`, in fleets of millions of rows).
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
#: A pick of at most KEPT_KEYS cells that passes over a fleet of more than KEPT_FROM rows
#: (rig resolution) keeps the rows it found of cells of at most KEPT_SHARE of the fleet, of at
#: most KEPT_CELLS cells at once. In smaller fleets a pass costs less than keeping them; a
#: pick of many cells seldom finds all of them kept, and would only push others out.
KEPT_FROM = 1 << 19
KEPT_SHARE = 1 / 256
KEPT_CELLS = 64
KEPT_KEYS = 8


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


class Cells:
    """Rig resolution: the rows of a few small tally cells, kept from one pick to the next.

    Enforcement and the decisions of forced-off rigs take a few dozen rigs a day from the
    same cells of a few hundred or thousand rows; in a fleet of millions, finding those rows
    is a pass over the key column each time. A pick that made such a pass keeps the rows it
    found of small cells here (:meth:`keep`). The fleet reports every row that takes a kept
    key (:meth:`enter`) and every kept key that whole cells move into (:meth:`forget`); rows
    that left a kept key are dropped when it is read (:meth:`rows`), as the timers do. A cell
    that grows past the size it may have is forgotten (the next pick passes over the fleet
    again). A kept cell's rows, read in row order, are those a pass would find, so a pick that
    would pass over the fleet draws the same rows from them; one that would draw row indices
    at random reads them instead (the same law, other rows)."""

    def __init__(self) -> None:
        self.kept = np.zeros(0, dtype=bool)  # by key: are its rows kept?
        self.chunks: dict[int, list[NDArray[np.intp]]] = {}  # key → rows (stale ones too)
        self.held: dict[int, int] = {}  # key → rows in its chunks
        self.most = 0  # rows a kept cell may hold

    def grow(self, num_keys: int) -> None:
        """The tally has `num_keys` keys now."""
        if num_keys > len(self.kept):
            self.kept = np.concatenate([self.kept, np.zeros(num_keys - len(self.kept), bool)])

    def keep(self, keys: IntArray, rows: NDArray[np.intp], bounds: IntArray, most: int
             ) -> None:
        """Keep the rows of `keys` (``rows[bounds[j]:bounds[j + 1]]`` for ``keys[j]``, all
        of each cell) of cells of at most `most` rows, if there are at most KEPT_KEYS keys."""
        self.most = most
        if len(keys) > KEPT_KEYS:
            return
        for j in np.flatnonzero((np.diff(bounds) <= most) & ~self.kept[keys]).tolist():
            k, lo, hi = int(keys[j]), int(bounds[j]), int(bounds[j + 1])
            if len(self.chunks) >= KEPT_CELLS:  # the cell kept longest makes room
                self.forget(np.array([next(iter(self.chunks))]))
            self.chunks[k] = [rows[lo:hi]]
            self.held[k] = hi - lo
            self.kept[k] = True

    def enter(self, rows: NDArray[np.intp], keys: NDArray[np.integer]) -> None:
        """`rows` took `keys` (one per row)."""
        if not self.chunks:
            return
        hit = np.flatnonzero(self.kept[keys])
        if len(hit) == 0:
            return
        rows, keys = rows[hit], np.asarray(keys)[hit]
        for k in np.unique(keys).tolist():
            entered = rows[keys == k]
            self.held[k] += len(entered)
            if self.held[k] > self.most:  # too big to keep (or too busy)
                self.forget(np.array([k]))
            else:
                self.chunks[k].append(entered)

    def forget(self, keys: NDArray[np.integer]) -> None:
        """Stop keeping `keys` (whole cells moved into them, or room is needed)."""
        if not self.chunks:
            return
        for k in np.asarray(keys)[self.kept[keys]].tolist():
            del self.chunks[k], self.held[k]
            self.kept[k] = False

    def clear(self) -> None:
        """The rows were renumbered."""
        self.forget(np.array(list(self.chunks), dtype=np.int64))

    def holds(self, keys: IntArray) -> bool:
        """Whether the rows of all `keys` are kept."""
        return bool(self.kept[keys].all())

    def rows(self, key: NDArray[np.int32], k: int) -> NDArray[np.intp]:
        """The rows of kept key `k` in row order, as a pass over the key column finds them."""
        rows, *entered = self.chunks[k]  # in row order, then the rows that entered since
        rows = rows[key[rows] == k]
        if entered:  # merged in: those still there, once each
            more = np.unique(np.concatenate(entered))
            more = more[key[more] == k]
            at = np.searchsorted(rows, more)
            known = np.zeros(len(more), dtype=bool)
            inside = at < len(rows)
            known[inside] = rows[at[inside]] == more[inside]
            rows = np.insert(rows, at[~known], more[~known])
        self.chunks[k] = [rows]
        self.held[k] = len(rows)
        return rows

    def check(self, key: NDArray[np.int32]) -> None:
        """Raise unless each kept key's rows are those of a pass."""
        for k in list(self.chunks):
            if not np.array_equal(self.rows(key, k), np.flatnonzero(key == k)):
                raise AssertionError(f"the kept rows of cell {k} are not its rows")


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
    Where the fleet keeps the rows of every key (`Cells`), they are read instead of either.
    All give each subset of the right size the same probability.
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
    cells = fleet.cells if n > KEPT_FROM else None
    kept = cells is not None and cells.holds(keys)
    if draws <= n * DRAW_SHARE and not kept:
        return _pick_by_drawing(fleet, rng, slot, want, draws)
    rows, bounds = _rows_by_key(fleet, keys, slot, cells, kept)
    # each key's sample in random order (so that consecutive slices are random too)
    parts = [(rng.permutation(rows[lo:hi]) if shuffled else rows[lo:hi])  # (= a permuted range)
             if k == hi - lo else rows[lo:hi][rng.choice(hi - lo, size=k, replace=False)]
             for lo, hi, k in zip(bounds[:-1], bounds[1:], want.tolist(), strict=True)]
    return np.concatenate(parts).astype(np.intp)


def _rows_by_key(fleet: Fleet, keys: IntArray, slot: IntArray, cells: Cells | None,
                 kept: bool) -> tuple[NDArray[np.intp], IntArray]:
    """The rows of `keys` (``slot[keys]`` = 0, 1, …), grouped by key in that order, each key's
    in row order; with the bounds of each key's rows. Read from `cells` where they keep every
    key (`kept`); else one pass, whose small cells `cells` (if any) then keep."""
    n = fleet.size
    if cells is not None and kept:  # no pass: the rows were kept
        parts = [cells.rows(fleet.cols["key"][:n], k) for k in keys.tolist()]
        bounds = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=bounds[1:])
        return np.concatenate(parts), bounds
    status = _sparse_status(fleet, keys) if n > LARGE else None
    rows, bounds = compiled.rows_by_slot(fleet.cols["key"][:n], slot, len(keys),
                                         None if status is None else fleet.cols["status"][:n],
                                         status or 0, large=n > LARGE)
    if cells is not None:
        cells.keep(keys, rows, bounds, int(n * KEPT_SHARE))
    return rows, bounds


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
