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

from sim import compiled, kernels, rowsearch

ONLINE, OFFLINE, BANNED_OFF, IN_TRANSIT, QUEUED, UNDERGROUND, RETIRED = range(7)
STATUS_NAMES = ("online", "offline", "banned_off", "in_transit", "queued", "underground", "retired")
NUM_STATUSES = len(STATUS_NAMES)
#: What rigs chose, as decisions.csv names it: online rigs leaving ahead of a ban
#: (`leave_early`, an announcement's exits), and forced-off rigs' choices. (Here, not in
#: sim.world, so that reading a decisions table does not import the engine.)
CHOICES = ("leave_early", "relocate", "underground", "hibernate", "sell", "retire")
NEVER = np.iinfo(np.int32).max  # a timer that never fires
#: Sub-statuses that the tally tells apart within a status, by a running timer: forced-off rigs
#: waiting out a hibernation, and offline rigs suspended until a day (a partial power outage, a
#: wait after an announcement), which do not switch on by the margin until then.
HIBERNATING = NUM_STATUSES
SUSPENDED = NUM_STATUSES + 1
#: Sub-statuses in use: the statuses, hibernating and suspended (a group's later cells stay 0).
NUM_SUB_USED = SUSPENDED + 1
#: Cells per group in the tally (a power of two: a key's sub-status is its low bits).
NUM_SUBS = 16
#: The status of each sub-status.
SUB_STATUS = np.array([*range(NUM_STATUSES), BANNED_OFF, OFFLINE]
                      + [0] * (NUM_SUBS - NUM_SUB_USED), dtype=np.int64)

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

    def __init__(self, size: int, cols: dict[str, np.ndarray[Any, Any]],
                 single: bool = False) -> None:
        self._views: dict[str, np.ndarray] = {}  # the views below, while size and arrays hold
        self.size = size
        self.cols = cols
        self.single = single  # rig resolution: every row holds one rig (tally counts rows)
        # rig resolution: rows by the day their timer fires (sim/rowsearch.py)
        self.timers = rowsearch.Timers() if single else None
        # rig resolution: the rows of small cells that picks read again and again
        self.cells = rowsearch.Cells() if single else None
        self._gid: dict[int, int] = {}  # packed attribute code → group index
        # written attribute values → the group each group's rows then join (−1: not yet seen)
        self._remaps: dict[tuple[tuple[str, int], ...], IntArray] = {}
        # a column written with a value per row (and others with one value): packed (group,
        # value) → the group joined (see _regroup_pairs)
        self._pair_remaps: dict[tuple[Any, ...], dict[int, int]] = {}
        self.group_attrs = np.zeros((0, len(GROUP_COLUMNS)), dtype=np.int64)  # (G, 5)
        self._tally = np.zeros(0, dtype=np.int64)  # (G × NUM_SUBS,)
        if size:
            rows = np.arange(size, dtype=np.intp)
            self.cols["key"][:size] = self._keys(rows)
            self._count(rows, 1)
            if self.timers is not None:
                self.timers.file(rows, self.cols["t_due"][:size])

    @classmethod
    def empty(cls, capacity: int = 64, single: bool = False) -> Fleet:
        cols: dict[str, np.ndarray[Any, Any]] = {
            name: np.zeros(capacity, dtype=dt) for name, dt in COLUMNS.items()}
        return cls(0, cols, single)

    def __getattr__(self, name: str) -> np.ndarray:
        # Live views of the columns: fleet.count, fleet.status, ... (read-only where the tally
        # depends on them: write those through Fleet.set)
        views = self.__dict__.get("_views")
        if views is not None:
            view = views.get(name)
            if view is not None and len(view) == self.__dict__["size"]:
                return view
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            view = cols[name][: self.__dict__["size"]]
            if name in PROTECTED:
                view.flags.writeable = False
            if views is not None:
                views[name] = view
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
        """Rigs by (group, status), shape (G, NUM_STATUSES): hibernating rigs are forced off,
        suspended ones offline."""
        t = self._tally.reshape(-1, NUM_SUBS)
        out = t[:, :NUM_STATUSES].copy()
        out[:, BANNED_OFF] += t[:, HIBERNATING]
        out[:, OFFLINE] += t[:, SUSPENDED]
        return out

    def group(self, name: str) -> IntArray:
        """An attribute of each group, shape (G,): `region`, `pool`, `hw`, `facility`, `tier`."""
        return self.group_attrs[:, GROUP_COLUMNS.index(name)]

    # --------------------------------------------------------------------------- the tally

    @staticmethod
    def _pack(attrs: list[IntArray]) -> IntArray:
        """Packed codes of attribute columns given in GROUP_COLUMNS order."""
        code = np.zeros(len(attrs[0]), dtype=np.int64)
        for name, col, bits in zip(GROUP_COLUMNS, attrs, _GROUP_BITS, strict=True):
            col = col.astype(np.int64) + (name == "facility")
            if len(col) and (int(col.min()) < 0 or int(col.max()) >= 1 << bits):
                raise ValueError(f"fleet column {name!r} out of range for the tally")
            code = (code << bits) | col
        return code

    def _gids(self, attrs: list[IntArray]) -> IntArray:
        """Group index of each combination of attributes (new ones become new groups)."""
        packed = self._pack(attrs)
        if len(packed) <= 8:  # a few rows: no sort
            found = [self._gid.get(c) for c in packed.tolist()]
            if None not in found:
                return np.array(found, dtype=np.int64)
        codes, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
        gids = np.empty(len(codes), dtype=np.int64)
        fresh = []
        for i, code in enumerate(codes.tolist()):
            gid = self._gid.get(code)
            if gid is None:
                gid = self._gid[code] = len(self._gid)
                fresh.append(first[i])
            gids[i] = gid
        if fresh:
            new = np.stack([a[fresh] for a in attrs], axis=1).astype(np.int64)
            self.group_attrs = np.concatenate([self.group_attrs, new])
            grown = np.zeros(self.num_groups * NUM_SUBS, dtype=np.int64)
            grown[: len(self._tally)] = self._tally
            self._tally = grown
            if self.cells is not None:
                self.cells.grow(len(grown))
        return gids[inverse.ravel()]

    def _groups_of(self, rows: NDArray[np.intp]) -> IntArray:
        """Group index of each row, from its attributes (rows whose key may be stale)."""
        return self._gids([self.cols[n][rows] for n in GROUP_COLUMNS])

    def group_of(self, rows: NDArray[np.intp]) -> IntArray:
        """Group index of each of `rows`, from its key: one read per row where reading its
        attributes would take one per attribute (``group(name)[group_of(rows)]``)."""
        return self.cols["key"][rows] // NUM_SUBS

    def rigs_of(self, rows: NDArray[np.intp]) -> IntArray:
        """Rigs in each of `rows` (a copy; in rig resolution one each, without a read)."""
        if self.single:
            return np.ones(len(rows), dtype=np.int64)
        return self.cols["count"][rows]

    def _regroup(self, old_groups: IntArray, values: dict[str, int]) -> IntArray:
        """Groups of rows that were in `old_groups` once the attributes `values` (one value
        each, for all rows) are written: mapped group by group, not row by row."""
        cache_key = tuple(sorted(values.items()))
        remap = self._remaps.get(cache_key)
        if remap is None or len(remap) < self.num_groups:  # −1: not mapped yet
            grown = np.full(self.num_groups, -1, dtype=np.int64)
            if remap is not None:
                grown[: len(remap)] = remap
            remap = self._remaps[cache_key] = grown
        new = remap[old_groups]
        if np.any(new < 0):
            missing = np.unique(old_groups[new < 0])
            attrs = [np.full(len(missing), values[n]) if n in values
                     else self.group_attrs[missing, i] for i, n in enumerate(GROUP_COLUMNS)]
            remap[missing] = self._gids(attrs)
            new = remap[old_groups]
        return new

    def _regroup_pairs(self, groups: IntArray, name: str, values: IntArray,
                       scalars: dict[str, int]) -> IntArray:
        """Groups that rigs of `groups[i]` join when column `name` takes `values[i]` and the
        `scalars` are written too: pairs seen before are looked up (groups are never
        renumbered), the others found by their attributes."""
        pairs = self._pair_remaps.setdefault((name, *sorted(scalars.items())), {})
        codes = ((groups << 32) | (values + 1)).tolist()  # values from −1
        found = [pairs.get(c, -1) for c in codes]
        missing = [i for i, gid in enumerate(found) if gid < 0]
        if missing:
            attrs = self.group_attrs[groups[missing]].T.copy()
            for n, v in scalars.items():
                attrs[GROUP_COLUMNS.index(n)] = v
            attrs[GROUP_COLUMNS.index(name)] = values[missing]
            for i, gid in zip(missing, self._gids(list(attrs)).tolist(), strict=True):
                found[i] = pairs[codes[i]] = gid
        return np.array(found, dtype=np.int64)

    def _subs(self, rows: NDArray[np.intp]) -> IntArray:
        status = self.cols["status"][rows]
        sub = status.astype(np.int64)
        for plain, timed in ((BANNED_OFF, HIBERNATING), (OFFLINE, SUSPENDED)):
            off = np.flatnonzero(status == plain)
            if len(off):
                sub[off[self.cols["t_due"][rows[off]] != NEVER]] = timed
        return sub

    @staticmethod
    def _sub_written(values: dict[str, Any]) -> int | None:
        """The sub-status every row takes when `values` are written, if they fix it."""
        status = values.get("status")
        if not isinstance(status, int | np.integer):
            return None
        timed = {BANNED_OFF: HIBERNATING, OFFLINE: SUSPENDED}.get(int(status))
        if timed is None:
            return int(status)
        t_due = values.get("t_due")
        if isinstance(t_due, int | np.integer):
            return int(status) if t_due == NEVER else timed
        return None

    def _keys(self, rows: NDArray[np.intp]) -> IntArray:
        return self._groups_of(rows) * NUM_SUBS + self._subs(rows)

    def _count(self, rows: NDArray[np.intp], sign: int) -> None:
        """Add (sign 1) or remove (sign −1) the rigs of `rows` to or from their cells."""
        self._add(self.cols["key"][rows], None if self.single else self.cols["count"][rows],
                  sign)

    def _add(self, keys: NDArray[np.integer], rigs: NDArray[np.int64] | None, sign: int
             ) -> None:
        """Add (sign 1) or remove (sign −1) `rigs` (one each if None) to or from cells `keys`."""
        if len(keys) <= 8:  # a few rows: plain Python beats allocating a tally-sized array
            for k, n in zip(keys.tolist(), [1] * len(keys) if rigs is None else rigs.tolist(),
                            strict=True):
                self._tally[k] += sign * int(n)
            return
        by_key = (np.bincount(keys, minlength=len(self._tally)) if rigs is None else
                  np.bincount(keys, weights=rigs, minlength=len(self._tally)).astype(np.int64))
        if sign > 0:
            self._tally += by_key
        else:
            self._tally -= by_key

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
        if self.timers is not None and "t_due" in values:
            self.timers.file(rows, values["t_due"])
        key = self.cols["key"]
        old = key[rows]  # (read once: the rows' cells before, and their groups)
        rigs = None if self.single else self.cols["count"][rows]
        self._add(old, rigs, -1)
        for name, value in values.items():
            self.cols[name][rows] = value
        regroup = {n: v for n, v in values.items() if n in GROUP_COLUMNS_SET}
        sub = self._sub_written(values)
        subs = self._subs(rows) if sub is None else sub
        if not regroup:  # same group: only the sub-status moves
            new = (old & ~(NUM_SUBS - 1)) | subs
        elif all(isinstance(v, int | np.integer) for v in regroup.values()):
            groups = self._regroup(old // NUM_SUBS, {n: int(v) for n, v in regroup.items()})
            new = groups * NUM_SUBS + subs
        elif sum(np.ndim(v) > 0 for v in regroup.values()) == 1:
            # one column takes a value per row: map each (old group, value) pair once
            name = next(n for n, v in regroup.items() if np.ndim(v) > 0)
            per_row = np.asarray(regroup[name], dtype=np.int64)
            span = int(per_row.max()) + 2  # values from −1
            pairs, inverse = kernels.unique((old // NUM_SUBS) * span + per_row + 1,
                                            self.num_groups * span)
            scalars = {n: int(v) for n, v in regroup.items() if n != name}
            new = self._regroup_pairs(pairs // span, name, pairs % span - 1,
                                      scalars)[inverse] * NUM_SUBS + subs
        else:
            new = self._keys(rows)
        key[rows] = new
        if self.cells is not None:
            self.cells.enter(rows, new)
        if "count" in values and rigs is not None:
            rigs = self.cols["count"][rows]
        self._add(new, rigs, 1)

    def move(self, keys: NDArray[np.integer], status: int, **values: NDArray[Any] | int
             ) -> None:
        """Every rig of tally cells `keys` takes `status` (not forced-off) and `values` of
        columns outside the tally — a whole cell at once, without recounting its rows."""
        if status == BANNED_OFF or PROTECTED.intersection(values):
            raise ValueError("move() changes the status only (not to forced-off)")
        keys = np.asarray(keys, dtype=np.int64)
        keys = keys[self._tally[keys] > 0]
        if len(keys) == 0:
            return
        new = (keys & ~(NUM_SUBS - 1)) | status
        n = self.size
        if self._tally[keys].sum() > n // 16:  # many rows: one pass beats index lists
            wanted = np.zeros(len(self._tally), dtype=bool)
            wanted[keys] = True
            since = values.pop("t_since", None)
            if since is not None and np.ndim(since):
                raise ValueError("move() sets one t_since for the whole cells")
            if values:  # other columns: by the mask of the rows, before their keys change
                mask = np.take(wanted, self.cols["key"][:n])
                for name, value in values.items():
                    np.copyto(self.cols[name][:n], value, where=mask)
            compiled.move_cells(self.cols, n, wanted, status, NUM_SUBS, NEVER,
                                None if since is None else int(since), n > rowsearch.LARGE)
        else:
            rows = self.rows_with(keys)
            self.cols["status"][rows] = status
            self.cols["t_due"][rows] = NEVER
            self.cols["key"][rows] = (self.cols["key"][rows] & ~(NUM_SUBS - 1)) | status
            for name, value in values.items():
                self.cols[name][rows] = value
        moved = self._tally[keys].copy()
        self._tally[keys] = 0
        np.add.at(self._tally, new, moved)
        if self.cells is not None:
            self.cells.forget(new)

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
        if self.timers is not None:
            self.timers.check(self.cols["t_due"][: self.size])
        if self.cells is not None:
            self.cells.check(key)

    def rows_with(self, keys: NDArray[np.integer]) -> NDArray[np.intp]:
        """Rows whose key is one of `keys`, in row order (sim/rowsearch.py)."""
        return rowsearch.rows_with(self, keys)

    def rows_due(self, day: int) -> NDArray[np.intp]:
        """Rows whose timer fires on or before `day`, in row order (sim/rowsearch.py)."""
        return rowsearch.rows_due(self, day)

    def pick(self, rng: np.random.Generator, keys: IntArray, want: IntArray,
             shuffled: bool = True) -> NDArray[np.intp]:
        """Rig resolution: `want[i]` rows drawn uniformly without replacement among the rows
        of key `keys[i]` (sim/rowsearch.py)."""
        return rowsearch.pick(self, rng, keys, want, shuffled)

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
        self._views.clear()

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
        if self.single and np.any(self.cols["count"][lo:hi] != 1):
            raise ValueError("a fleet of single rigs takes rows of one rig")
        self.cols["key"][lo:hi] = self._keys(rows)
        self._count(rows, 1)
        if self.cells is not None:
            self.cells.enter(rows, self.cols["key"][lo:hi])
        if self.timers is not None:
            self.timers.file(rows, self.cols["t_due"][lo:hi])
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
        if self.single:  # a row of one rig moves whole or not at all
            return np.asarray(rows, dtype=np.intp)[keep]
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

    def compact(self, merge: bool = True, only: NDArray[np.bool_] | None = None) -> None:
        """Drop empty rows and (if `merge`) merge rows that agree on all columns but `count`.

        Rig resolution passes ``merge=False``: there a row is one rig and stays one.
        With `only` (a mask of the rows), only those rows are dropped or merged; the others
        keep their order and all they hold, before them (a batch of copies compacts the
        copies that need it, sim/engine.py). The tally does not change.
        """
        n = self.size
        if only is not None:
            only = only[:n]
            if not only.any():
                return
            if not only.all():
                self._move_first(np.flatnonzero(~only))
                self._compact_from(n - int(only.sum()), merge)
                return
        self._compact_from(0, merge)

    def _move_first(self, rows: NDArray[np.intp]) -> None:
        """Put `rows` first, in their order, the other rows after them in theirs."""
        n = self.size
        rest = np.ones(n, dtype=bool)
        rest[rows] = False
        order = np.concatenate([rows, np.flatnonzero(rest)])
        for col in self.cols.values():
            col[:n] = col[:n][order]
        self._renumbered()

    def _renumbered(self) -> None:
        """Rows were renumbered: file every running timer again, and forget the rows of
        kept cells (rig resolution)."""
        if self.cells is not None:
            self.cells.clear()
        if self.timers is not None:
            self.timers = rowsearch.Timers()
            self.timers.file(np.arange(self.size, dtype=np.intp), self.cols["t_due"][: self.size])

    def _compact_from(self, start: int, merge: bool) -> None:
        """:meth:`compact` of the rows from `start` on."""
        n = self.size
        live = start + np.flatnonzero(self.cols["count"][start:n] > 0)
        # Entry day matters only for queue order; forget it elsewhere so more rows merge.
        status = self.cols["status"][start:n]
        self.cols["t_since"][start:n][(status != QUEUED)] = 0
        if not merge:
            for col in self.cols.values():
                col[start:start + len(live)] = col[:n][live]
            self.size = start + len(live)
            self._renumbered()
            return
        names = [c for c in COLUMNS if c not in ("count", "key")]
        values = [self.cols[c][:n][live].astype(np.int64) for c in names]
        first, inverse = _group(values)
        counts = np.bincount(inverse, weights=self.cols["count"][:n][live],
                             minlength=len(first)).astype(np.int64)
        rows = live[first]
        end = start + len(rows)
        for name in [*names, "key"]:
            self.cols[name][start:end] = self.cols[name][:n][rows]
        self.cols["count"][start:end] = counts
        self.size = end

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
        if radix * span >= 2**62:  # the same order without packing: the last column first
            order = np.lexsort(columns)
            change = np.zeros(n, dtype=bool)
            change[0] = True
            for c in columns:
                change[1:] |= c[order][1:] != c[order][:-1]
            starts = np.flatnonzero(change)
            inverse = np.empty(n, dtype=np.intp)
            inverse[order] = np.cumsum(change) - 1
            return order[starts], inverse
        key += (col - lo) * radix
        radix *= span
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse
