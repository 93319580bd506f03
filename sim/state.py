"""The fleet: rig cohorts as typed numpy columns (structure of arrays).

A row is a cohort of identical rigs (in rig resolution, one rig). Every rig is in exactly one
status. When some rigs of a row change status (or pool, or region), :meth:`Fleet.split` moves
them to a row of their own; in rig resolution a row always moves whole, so no row is ever added
except by purchases. Relations are integer index columns, −1 meaning none.

The fleet keeps a *tally*: rigs by (group, sub-status), where a group is one combination of
the attributes that the economics read (region, pool, hardware, facility, price tier) and the
sub-status is the status, with forced-off rigs whose hibernation timer runs told apart. Each row
carries its key into the tally. Every change of those columns goes through :meth:`Fleet.set`,
which moves the row's rigs between keys, so the tally is exact at all times and the daily
aggregates cost O(groups), not O(rows): the columns it depends on are read-only views.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

ONLINE, OFFLINE, BANNED_OFF, IN_TRANSIT, QUEUED, UNDERGROUND, RETIRED = range(7)
STATUS_NAMES = ("online", "offline", "banned_off", "in_transit", "queued", "underground", "retired")
NUM_STATUSES = len(STATUS_NAMES)
NEVER = np.iinfo(np.int32).max  # a timer that never fires
#: Sub-status of forced-off rigs waiting out a hibernation (their timer runs); the tally's 8th.
HIBERNATING = NUM_STATUSES
NUM_SUBS = NUM_STATUSES + 1

IntArray = NDArray[np.int64]
I32 = NDArray[np.int32]

#: The columns of the fleet and their dtypes (declared once; drives allocation and copying).
COLUMNS: dict[str, type] = {
    "count": np.int64,  # rigs in the row
    "status": np.int8,  # one of the status codes above
    "region": np.int32,  # leaf region where the rigs are (their destination while in transit)
    "pool": np.int32,  # pool the rigs mine for
    "hw": np.int32,  # hardware model
    "facility": np.int32,  # facility hosting the rigs, −1 none
    "tier": np.int8,  # power-price tier of the rigs' site (sim.world.TIER_OFFSETS)
    "t_due": np.int32,  # day a pending timer fires (arrival, end of hibernation), NEVER if none
    "t_since": np.int32,  # day the row entered its status (queue order)
    "key": np.int32,  # group × NUM_SUBS + sub-status: the row's cell of the tally
}
#: The attributes that make a group, and the bits each takes in a group's packed code.
GROUP_COLUMNS = ("region", "pool", "hw", "facility", "tier")
_GROUP_BITS = (16, 12, 12, 16, 4)  # facility is stored +1 (−1 → 0)
#: Columns that only :meth:`Fleet.set` (and the fleet itself) may write: the tally reads them.
PROTECTED = frozenset({"count", "status", "t_due", "key", *GROUP_COLUMNS})


class Fleet:
    """Columns of length `capacity`; rows [0, size) are live. See the module docstring."""

    def __init__(self, size: int, cols: dict[str, np.ndarray[Any, Any]]) -> None:
        self.size = size
        self.cols = cols
        self._gid: dict[int, int] = {}  # packed attribute code → group index
        self.group_attrs = np.zeros((0, len(GROUP_COLUMNS)), dtype=np.int64)  # (G, 5)
        self._tally = np.zeros(0, dtype=np.int64)  # (G × NUM_SUBS,)
        if size:
            rows = np.arange(size, dtype=np.intp)
            self.cols["key"][:size] = self._keys(rows)
            self._tally += self._bincount(rows)

    @classmethod
    def empty(cls, capacity: int = 64) -> Fleet:
        cols: dict[str, np.ndarray[Any, Any]] = {
            name: np.zeros(capacity, dtype=dt) for name, dt in COLUMNS.items()}
        return cls(0, cols)

    def __getattr__(self, name: str) -> np.ndarray:
        # Live views of the columns: fleet.count, fleet.status, ... (read-only where the tally
        # depends on them: write those through Fleet.set)
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            view = cols[name][: self.__dict__["size"]]
            if name in PROTECTED:
                view.flags.writeable = False
            return view
        raise AttributeError(name)

    @property
    def capacity(self) -> int:
        return len(self.cols["count"])

    @property
    def num_groups(self) -> int:
        return len(self.group_attrs)

    @property
    def tally(self) -> IntArray:
        """Rigs by (group, sub-status), shape (G, NUM_SUBS); read-only."""
        view = self._tally.reshape(-1, NUM_SUBS)
        view.flags.writeable = False
        return view

    def tally_by_status(self) -> IntArray:
        """Rigs by (group, status), shape (G, NUM_STATUSES): hibernating rigs are forced off."""
        t = self._tally.reshape(-1, NUM_SUBS)
        out = t[:, :NUM_STATUSES].copy()
        out[:, BANNED_OFF] += t[:, HIBERNATING]
        return out

    def group(self, name: str) -> IntArray:
        """An attribute of each group, shape (G,): `region`, `pool`, `hw`, `facility`, `tier`."""
        return self.group_attrs[:, GROUP_COLUMNS.index(name)]

    # --------------------------------------------------------------------------- the tally

    def _codes(self, rows: NDArray[np.intp]) -> IntArray:
        code = np.zeros(len(rows), dtype=np.int64)
        for name, bits in zip(GROUP_COLUMNS, _GROUP_BITS, strict=True):
            col = self.cols[name][rows].astype(np.int64) + (name == "facility")
            if len(col) and (int(col.min()) < 0 or int(col.max()) >= 1 << bits):
                raise ValueError(f"fleet column {name!r} out of range for the tally")
            code = (code << bits) | col
        return code

    def _groups_of(self, rows: NDArray[np.intp]) -> IntArray:
        """Group index of each row (new attribute combinations become new groups)."""
        codes, inverse = np.unique(self._codes(rows), return_inverse=True)
        gids = np.empty(len(codes), dtype=np.int64)
        fresh = []
        for i, code in enumerate(codes.tolist()):
            gid = self._gid.get(code)
            if gid is None:
                gid = self._gid[code] = len(self._gid)
                fresh.append(i)
            gids[i] = gid
        if fresh:
            first = np.zeros(len(codes), dtype=np.intp)
            first[inverse[::-1]] = rows[::-1]  # a row of each code
            attrs = np.stack([self.cols[n][first[fresh]] for n in GROUP_COLUMNS], axis=1)
            self.group_attrs = np.concatenate([self.group_attrs, attrs.astype(np.int64)])
            grown = np.zeros(self.num_groups * NUM_SUBS, dtype=np.int64)
            grown[: len(self._tally)] = self._tally
            self._tally = grown
        return gids[inverse.ravel()]

    def _subs(self, rows: NDArray[np.intp]) -> IntArray:
        status = self.cols["status"][rows].astype(np.int64)
        hib = (status == BANNED_OFF) & (self.cols["t_due"][rows] != NEVER)
        return np.where(hib, HIBERNATING, status)

    def _keys(self, rows: NDArray[np.intp]) -> IntArray:
        return self._groups_of(rows) * NUM_SUBS + self._subs(rows)

    def _bincount(self, rows: NDArray[np.intp]) -> IntArray:
        keys = self.cols["key"][rows]
        return np.bincount(keys, weights=self.cols["count"][rows],
                           minlength=len(self._tally)).astype(np.int64)

    def set(self, rows: NDArray[np.intp], **values: NDArray[Any] | int) -> None:
        """Write columns of `rows` (distinct) and move their rigs between tally cells."""
        rows = np.asarray(rows, dtype=np.intp)
        if len(rows) == 0:
            return
        if not PROTECTED.intersection(values):
            for name, value in values.items():
                self.cols[name][rows] = value
            return
        if "key" in values:
            raise ValueError("the key column is the fleet's own")
        self._tally -= self._bincount(rows)
        for name, value in values.items():
            self.cols[name][rows] = value
        if GROUP_COLUMNS_SET.isdisjoint(values):  # same group: only the sub-status moves
            self.cols["key"][rows] = ((self.cols["key"][rows] // NUM_SUBS) * NUM_SUBS
                                      + self._subs(rows))
        else:
            self.cols["key"][rows] = self._keys(rows)
        self._tally += self._bincount(rows)

    def check(self) -> None:
        """Raise if the tally or a row's key disagrees with the columns (for tests)."""
        rows = np.arange(self.size, dtype=np.intp)
        key = self.cols["key"][: self.size]
        if len(rows):
            group = key // NUM_SUBS
            attrs = np.stack([self.cols[n][: self.size] for n in GROUP_COLUMNS], axis=1)
            if not np.array_equal(self.group_attrs[group], attrs):
                raise AssertionError("a row's group disagrees with its attributes")
            if not np.array_equal(key % NUM_SUBS, self._subs(rows)):
                raise AssertionError("a row's sub-status disagrees with its status")
        recount = np.bincount(key, weights=self.cols["count"][: self.size],
                              minlength=len(self._tally)).astype(np.int64)
        if not np.array_equal(recount, self._tally):
            raise AssertionError("the tally disagrees with the rows")

    def rows_with(self, keys: NDArray[np.integer]) -> NDArray[np.intp]:
        """Rows whose key is one of `keys`, in row order (one pass over the key column)."""
        wanted = np.zeros(len(self._tally), dtype=bool)
        wanted[keys] = True
        return np.flatnonzero(np.take(wanted, self.cols["key"][: self.size]))

    def pick(self, rng: np.random.Generator, keys: IntArray, want: IntArray) -> NDArray[np.intp]:
        """Rig resolution: `want[i]` rows drawn uniformly without replacement among the rows
        of key `keys[i]` (distinct keys), concatenated in the order of `keys`.

        Where few rows are wanted relative to their key's population, rows are found by
        drawing row indices uniformly and keeping, per key, the first distinct ones that carry
        it (no pass over the fleet); otherwise one pass finds the key's rows and a sample is
        drawn among them. Both give each subset of the right size the same probability.
        """
        keys = np.asarray(keys, dtype=np.int64)
        want = np.asarray(want, dtype=np.int64)
        sel = want > 0
        keys, want = keys[sel], want[sel]
        if len(keys) == 0:
            return np.zeros(0, dtype=np.intp)
        pop = self._tally[keys]
        if np.any(want > pop):
            raise ValueError("more rows wanted than a key holds")
        slot = np.full(len(self._tally), -1, dtype=np.int64)
        slot[keys] = np.arange(len(keys))
        n = self.size
        draws = float(np.max(want / pop)) * n  # expected row draws to collect every key's share
        if draws <= n / 8:
            return self._pick_by_drawing(rng, slot, want, draws)
        rows = self.rows_with(keys)
        which = slot[self.cols["key"][rows]]
        order = np.argsort(which, kind="stable")
        rows, bounds = rows[order], np.searchsorted(which[order], np.arange(len(keys) + 1))
        parts = [rows[lo:hi][rng.choice(hi - lo, size=k, replace=False)]
                 for lo, hi, k in zip(bounds[:-1], bounds[1:], want.tolist(), strict=True)]
        return np.concatenate(parts).astype(np.intp)

    def _pick_by_drawing(self, rng: np.random.Generator, slot: IntArray, want: IntArray,
                         draws: float) -> NDArray[np.intp]:
        key = self.cols["key"]
        found = np.zeros(0, dtype=np.int64)
        while True:
            more = rng.integers(0, self.size, size=int(draws * 1.2) + 64)
            found = np.concatenate([found, more[slot[key[more]] >= 0]])
            _, first = np.unique(found, return_index=True)
            found = found[np.sort(first)]  # distinct rows in the order drawn
            which = slot[key[found]]
            order = np.argsort(which, kind="stable")
            bounds = np.searchsorted(which[order], np.arange(len(want) + 1))
            if np.all(np.diff(bounds) >= want):
                return np.concatenate([found[order[lo:lo + k]] for lo, k in
                                       zip(bounds[:-1], want.tolist(), strict=False)]
                                      ).astype(np.intp)
            draws = max(draws, 64.0)

    # --------------------------------------------------------------------------- rows

    def _reserve(self, extra: int) -> None:
        need = self.size + extra
        if need <= self.capacity:
            return
        new_cap = max(need, 2 * self.capacity)
        for name, col in self.cols.items():
            grown = np.zeros(new_cap, dtype=col.dtype)
            grown[: self.size] = col[: self.size]
            self.cols[name] = grown

    def append(self, **values: np.ndarray | int) -> NDArray[np.intp]:
        """Append rows; every column not given is 0 (facility: −1; t_due: NEVER)."""
        n = int(np.size(values["count"]))
        self._reserve(n)
        lo, hi = self.size, self.size + n
        defaults = {"facility": -1, "t_due": NEVER}
        for name, col in self.cols.items():
            col[lo:hi] = values.get(name, defaults.get(name, 0))
        self.size = hi
        rows = np.arange(lo, hi, dtype=np.intp)
        self.cols["key"][lo:hi] = self._keys(rows)
        self._tally += self._bincount(rows)
        return rows

    def split(self, rows: NDArray[np.intp], moving: IntArray) -> NDArray[np.intp]:
        """Give `moving[i]` rigs of row `rows[i]` a row of their own; returns those rows.

        A row whose rigs all move is returned itself; rows with nothing moving are dropped
        from the result. A row may appear several times (its rigs split several ways).
        The caller then changes status or attributes of the returned rows (:meth:`set`).
        The tally does not change: the new rows keep their key.
        """
        moving = np.asarray(moving, dtype=np.int64)
        keep = moving > 0
        rows, moving = rows[keep], moving[keep]
        whole = moving >= self.cols["count"][rows]
        part_rows, part_moving = rows[~whole], moving[~whole]
        out = np.empty(len(rows), dtype=np.intp)
        out[whole] = rows[whole]
        if len(part_rows):
            self._reserve(len(part_rows))
            lo = self.size
            hi = lo + len(part_rows)
            for col in self.cols.values():
                col[lo:hi] = col[part_rows]
            self.cols["count"][lo:hi] = part_moving
            np.subtract.at(self.cols["count"], part_rows, part_moving)
            self.size = hi
            out[~whole] = np.arange(lo, hi, dtype=np.intp)
        return out

    def compact(self, merge: bool = True) -> None:
        """Drop empty rows and (if `merge`) merge rows that agree on all columns but `count`.

        Rig resolution passes ``merge=False``: there a row is one rig and stays one.
        The tally does not change.
        """
        n = self.size
        live = np.flatnonzero(self.cols["count"][:n] > 0)
        # Entry day matters only for queue order; forget it elsewhere so more rows merge.
        status = self.cols["status"][:n]
        self.cols["t_since"][:n][(status != QUEUED)] = 0
        if not merge:
            for col in self.cols.values():
                col[: len(live)] = col[:n][live]
            self.size = len(live)
            return
        names = [c for c in COLUMNS if c not in ("count", "key")]
        values = [self.cols[c][:n][live].astype(np.int64) for c in names]
        first, inverse = _group(values)
        counts = np.bincount(inverse, weights=self.cols["count"][:n][live],
                             minlength=len(first)).astype(np.int64)
        rows = live[first]
        for name in [*names, "key"]:
            self.cols[name][: len(rows)] = self.cols[name][:n][rows]
        self.cols["count"][: len(rows)] = counts
        self.size = len(rows)

    def total_by_status(self) -> IntArray:
        """Rigs in each status, shape (NUM_STATUSES,)."""
        return self.tally_by_status().sum(axis=0)


GROUP_COLUMNS_SET = frozenset(GROUP_COLUMNS)


def keys_of(groups: NDArray[np.integer], sub: int) -> IntArray:
    """Tally keys of `groups` in sub-status `sub`."""
    return np.asarray(groups, dtype=np.int64) * NUM_SUBS + sub


def _group(columns: list[IntArray]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Rows agreeing on every column: (index of each group's first row, group of each row).

    The columns are packed into one int64 key (mixed radix over their value ranges) when the
    ranges allow, which sorts far faster than ``np.unique(axis=0)``.
    """
    n = len(columns[0])
    if n == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    for col in columns:
        lo, hi = int(col.min()), int(col.max())
        span = hi - lo + 1
        if radix * span >= 2**62:
            _, first, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_index=True,
                                          return_inverse=True)
            return first, inverse.ravel()
        key += (col - lo) * radix
        radix *= span
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse
