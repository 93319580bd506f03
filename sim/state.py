"""The fleet: rig cohorts as typed numpy columns (structure of arrays).

A row is a cohort of identical rigs (in rig resolution, one rig). Every rig is in exactly one
status. When some rigs of a row change status (or pool, or region), :meth:`Fleet.split` moves
them to a row of their own; in rig resolution a row always moves whole, so no row is ever added
except by purchases. Relations are integer index columns, −1 meaning none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

ONLINE, OFFLINE, BANNED_OFF, IN_TRANSIT, QUEUED, UNDERGROUND, RETIRED = range(7)
STATUS_NAMES = ("online", "offline", "banned_off", "in_transit", "queued", "underground", "retired")
NUM_STATUSES = len(STATUS_NAMES)
NEVER = np.iinfo(np.int32).max  # a timer that never fires

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
}


@dataclass
class Fleet:
    """Columns of length `capacity`; rows [0, size) are live."""

    size: int
    cols: dict[str, np.ndarray[Any, Any]]

    @classmethod
    def empty(cls, capacity: int = 64) -> Fleet:
        cols: dict[str, np.ndarray[Any, Any]] = {
            name: np.zeros(capacity, dtype=dt) for name, dt in COLUMNS.items()}
        return cls(0, cols)

    def __getattr__(self, name: str) -> np.ndarray:
        # Live views of the columns: fleet.count, fleet.status, ...
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name][: self.__dict__["size"]]
        raise AttributeError(name)

    @property
    def capacity(self) -> int:
        return len(self.cols["count"])

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
        return np.arange(lo, hi, dtype=np.intp)

    def split(self, rows: NDArray[np.intp], moving: IntArray) -> NDArray[np.intp]:
        """Give `moving[i]` rigs of row `rows[i]` a row of their own; returns those rows.

        A row whose rigs all move is returned itself; rows with nothing moving are dropped
        from the result. A row may appear several times (its rigs split several ways).
        The caller then changes status or attributes of the returned rows.
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
        names = [c for c in COLUMNS if c != "count"]
        values = [self.cols[c][:n][live].astype(np.int64) for c in names]
        first, inverse = _group(values)
        counts = np.bincount(inverse, weights=self.cols["count"][:n][live],
                             minlength=len(first)).astype(np.int64)
        rows = live[first]
        for name in names:
            self.cols[name][: len(rows)] = self.cols[name][:n][rows]
        self.cols["count"][: len(rows)] = counts
        self.size = len(rows)

    def total_by_status(self) -> IntArray:
        """Rigs in each status, shape (NUM_STATUSES,)."""
        return np.bincount(self.status.astype(np.intp), weights=self.count,
                           minlength=NUM_STATUSES).astype(np.int64)


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
