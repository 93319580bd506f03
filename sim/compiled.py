"""Passes over the columns of a large fleet, compiled when numba is installed.

Rig resolution works on columns of millions of rows: it finds the rows holding a status (and
one of some tally keys), or the rows of some keys grouped by key; it moves whole cells of the
tally to another status; it keeps the first occurrence of rows drawn at random. numpy does
each in several steps with temporaries of the fleet's size, and finding rows (a boolean
temporary, then ``nonzero``) costs most in branches when the matches are scattered. With numba
(``pip install 'hashsim[fast]'``) each is one loop without data-dependent branches, or a
counting sort, 2–3 times faster on a fleet of millions. One more is not a pass: the booking of
the day's relocations in turn (`book_in_turn`), a loop over (cohort, destination) pairs that
Python runs at about a microsecond a pair. The numpy (and Python) versions here are the
reference: without numba, or with ``HASHSIM_NUMBA=0`` in the environment, they run instead,
and both give the same rows (tests/test_compiled.py).

Only fleets of more than ``sim.rowsearch.LARGE`` rows use the compiled versions (each function
takes `large`): rig resolution, in practice, and cohort batches of many copies (sim/batch.py)
that grow past it (a cohort world alone seldom does). numba caches what it compiles (next to
this file, or in a per-user folder), so the compilation, a second or two, happens once per
installation; where nothing can be cached, each process compiles them.
"""

from __future__ import annotations

import functools
import os
import sys
import types
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.kernels import group_order

Rows = NDArray[np.intp]
#: Set to 0 to run the numpy passes even where numba is installed.
ENV = "HASHSIM_NUMBA"
#: A status held by fewer than this share of the rows is searched 8 bytes at a time,
#: judged from about SAMPLE rows.
WORDS_BELOW = 0.02
SAMPLE = 4096


def enabled() -> bool:
    """Whether the compiled passes run (numba importable and not switched off)."""
    return os.environ.get(ENV, "1") != "0" and _kernels() is not None


@functools.cache
def _kernels() -> dict[str, Any] | None:
    try:
        import numba
    except ImportError:
        return None
    try:
        return _build(numba.njit(cache=True, nogil=True))
    except RuntimeError:  # no writable place to cache in: compile in each process instead
        return _build(numba.njit(nogil=True))


def _build(jit: Any) -> dict[str, Any]:
    # The passes write every index into `out` (or `rows`) and advance only on a match: no
    # branch depends on the data, so scattered matches cost no mispredictions.
    @jit
    def rows_in(column: Any, table: Any, out: Any) -> int:
        k = 0
        for i in range(len(column)):
            out[k] = i
            k += table[column[i]]
        return k

    @jit
    def rows_of_byte(words: Any, tail: Any, value: Any, out: Any) -> int:
        # the bytes of `words` (8 to a word, little-endian) and then of `tail` that equal
        # `value`: a word without one is passed over whole (a sparse status skips most)
        ones = np.uint64(0x0101010101010101)
        highs = np.uint64(0x8080808080808080)
        pattern = ones * value
        k = 0
        for w in range(len(words)):
            x = words[w] ^ pattern  # zero bytes where the value is
            if (x - ones) & ~x & highs:  # some byte is zero
                base = w * 8
                for b in range(8):
                    out[k] = base + b
                    k += ((x >> np.uint64(8 * b)) & np.uint64(0xFF)) == np.uint64(0)
        start = len(words) * 8
        for i in range(len(tail)):
            out[k] = start + i
            k += tail[i] == value
        return k

    @jit
    def keep_in(rows: Any, n: int, column: Any, table: Any) -> int:
        k = 0
        for t in range(n):
            r = rows[t]
            rows[k] = r
            k += table[column[r]]
        return k

    @jit
    def group_by_slot(rows: Any, n: int, key: Any, slot: Any, num_slots: int) -> Any:
        # keep the rows whose key has a slot, then a stable counting sort by slot
        which = np.empty(n, dtype=np.int64)
        m = 0
        for t in range(n):
            r = rows[t]
            w = slot[key[r]]
            rows[m] = r
            which[m] = w
            m += w >= 0
        bounds = np.zeros(num_slots + 1, dtype=np.int64)
        for t in range(m):
            bounds[which[t] + 1] += 1
        for j in range(num_slots):
            bounds[j + 1] += bounds[j]
        at = bounds[:-1].copy()
        out = np.empty(m, dtype=np.intp)
        for t in range(m):
            w = which[t]
            out[at[w]] = rows[t]
            at[w] += 1
        return out, bounds

    @jit
    def first_seen(rows: Any, seen: Any) -> int:
        # keep each row's first occurrence, in order; `seen` is all False before and after
        k = 0
        for t in range(len(rows)):
            r = rows[t]
            fresh = not seen[r]
            seen[r] = True
            rows[k] = r
            k += fresh
        for t in range(k):
            seen[rows[t]] = False
        return k

    @jit
    def move_cells(key: Any, wanted: Any, sub: int, low: int, status: Any, value: Any,
                   t_due: Any, never: Any, since: Any, day: Any, set_since: bool) -> None:
        for i in range(len(key)):
            k = key[i]
            if wanted[k]:
                key[i] = (k & ~low) | sub
                status[i] = value
                t_due[i] = never
                if set_since:
                    since[i] = day

    @jit
    def within_reach(rows: Any, key: Any, unit_of_key: Any, power_of_key: Any, since: Any,
                     count: Any, single: bool, free: Any, days: int) -> int:
        by_day = np.zeros(len(free) * days)  # MW queued by unit and by day (in row order)
        for t in range(len(rows)):
            i = rows[t]
            kk = key[i]
            rigs = 1.0 if single else count[i]
            by_day[unit_of_key[kk] * days + since[i]] += rigs * power_of_key[kk] / 1e6
        last_day = np.full(len(free), days, dtype=np.int64)
        for u in range(len(free)):  # the first day on which the running sum reaches free MW
            running = 0.0
            for d in range(days):
                running += by_day[u * days + d]
                if running >= free[u]:
                    last_day[u] = d
                    break
        m = 0
        for t in range(len(rows)):
            i = rows[t]
            rows[m] = i
            m += since[i] <= last_day[unit_of_key[key[i]]]
        return m

    @jit
    def book(dest: Any, slot: Any, wanted: Any, mw: Any, origin: Any, dest_region: Any,
             route_base: Any, bookable: Any, route_left: Any, path_start: Any,
             path_length: Any, path_route: Any, num_regions: int, taken: Any) -> None:
        # book_in_turn's loop, the same arithmetic in the same order (no fast-math)
        for i in range(len(dest)):
            at = slot[i]
            fit = bookable[at] / mw[i] + 1e-9 if bookable[at] > 0.0 else 0.0
            take = wanted[i] if fit >= wanted[i] else np.int64(fit)
            path = origin[i] * num_regions + dest_region[dest[i]]
            start, length = path_start[path], path_length[path]
            if length > 0 and take > 0:
                base = route_base[i]
                left = route_left[base + path_route[start]]
                for j in range(1, length):
                    left = min(left, route_left[base + path_route[start + j]])
                if left < take:
                    take = np.int64(left) if left > 0.0 else np.int64(0)
                for j in range(length):
                    route_left[base + path_route[start + j]] -= take
            bookable[at] -= take * mw[i]
            taken[i] = take

    return {"rows_in": rows_in, "rows_of_byte": rows_of_byte, "keep_in": keep_in,
            "group_by_slot": group_by_slot, "first_seen": first_seen, "move_cells": move_cells,
            "within_reach": within_reach, "book": book}


def warm() -> None:
    """Load the kernels now (compiling them if no cache holds them): numba takes about half a
    second to load them, which a run that will use them pays when it builds its world rather
    than in its first day (sim/engine.py)."""
    if not enabled():
        return
    status, key, t_due = np.zeros(2, np.int8), np.zeros(2, np.int32), np.zeros(2, np.int32)
    wanted, slot = np.ones(16, dtype=bool), np.zeros(16, dtype=np.int64)
    rows_equal(status, 0, key, wanted)
    rows_equal(np.ones(SAMPLE, np.int8), 0)  # (sparse: 8 bytes at a time)
    rows_wanted(key, wanted)
    rows_by_slot(key, slot, 1, status, 0)
    distinct_in_order(np.zeros(2, dtype=np.int64), 2)
    within_reach(np.zeros(1, dtype=np.intp), key, np.zeros(16, dtype=np.int64), np.ones(16),
                 t_due, None, np.ones(1), 2)
    move_cells({"key": key, "status": status, "t_due": t_due, "t_since": t_due.copy()}, 2,
               np.zeros(16, dtype=bool), 0, 16, 0, 0)
    one, route = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.intp)
    paths = types.SimpleNamespace(num_regions=1, path_start=route, path_length=route,
                                  path_route=route)
    book_in_turn(one, one, one, np.ones(1), one, one, one, np.ones(1), np.ones(1), paths)


def within_reach(rows: Rows, key: NDArray[np.int32], unit_of_key: NDArray[np.int64],
                 power_of_key: NDArray[np.float64], since: NDArray[np.int32],
                 count: NDArray[np.int64] | None, free: NDArray[np.float64], days: int,
                 large: bool = True) -> Rows:
    """Of queued `rows`, those that could be served today, in their order.

    A row is in the queue ``unit_of_key[key]``; it holds ``count`` rigs (one each if `count`
    is None) of ``power_of_key[key]`` W, queued on day ``since``. A queue's rows
    are kept if they queued no later than the first day on which the queue's MW, summed day by
    day, reach its ``free`` MW: later ones cannot fit, whatever the order. Compiled only for a
    `large` fleet (numpy reads each row's key and day several times over)."""
    kernels = _kernels() if large and enabled() else None
    if kernels is not None:
        rows = rows.copy()
        k = kernels["within_reach"](rows, key, unit_of_key, power_of_key, since,
                                    np.zeros(1, dtype=np.int64) if count is None else count,
                                    count is None, free, days)
        return rows[:k]
    row_key = key[rows]
    unit = unit_of_key[row_key]
    queued_on = since[rows]
    mw = (1 if count is None else count[rows]) * power_of_key[row_key] / 1e6
    by_day = np.bincount(unit * days + queued_on, mw,
                         minlength=len(free) * days).reshape(len(free), days)
    reached = np.cumsum(by_day, axis=1) >= free[:, None]
    last_day = np.where(reached.any(axis=1), reached.argmax(axis=1), days)
    return rows[queued_on <= last_day[unit]]


def book_in_turn(dest: NDArray[np.int64], slot: NDArray[np.int64], wanted: NDArray[np.int64],
                 mw: NDArray[np.float64], origin: NDArray[np.int64],
                 dest_region: NDArray[np.int64], route_base: NDArray[np.int64],
                 bookable: NDArray[np.float64], route_left: NDArray[np.float64], paths: Any,
                 large: bool = True) -> NDArray[np.int64]:
    """Book wanted relocations in turn; what each takes (int64).

    Request i wants ``wanted[i]`` rigs of ``mw[i]`` MW each from region ``origin[i]`` (of a
    copy) to destination column ``dest[i]`` (region ``dest_region[dest[i]]``). It takes what the
    MW ``bookable[slot[i]]`` still hold (whole rigs, a hair of slack for rounding) and what
    every route on its path still carries (``route_left[route_base[i] + route]``, the
    routes of `paths`: a `sim.world.TemplateGeo`), and draws both down (in place). Compiled
    only for a `large` fleet, where the kernels are loaded anyway; the loop below is the
    reference, with the same arithmetic in the same order."""
    kernels = _kernels() if large and enabled() else None
    if kernels is not None:
        taken = np.empty(len(dest), dtype=np.int64)
        kernels["book"](dest, slot, wanted, mw, origin, dest_region, route_base, bookable,
                        route_left, paths.path_start, paths.path_length, paths.path_route,
                        paths.num_regions, taken)
        return taken
    left_mw, left_rigs = bookable.tolist(), route_left.tolist()
    routes, regions = paths.path_routes, dest_region.tolist()
    out = []
    for at, want, per_rig, d, here, base in zip(slot.tolist(), wanted.tolist(), mw.tolist(),
                                                dest.tolist(), origin.tolist(),
                                                route_base.tolist(), strict=True):
        fit = left_mw[at] / per_rig + 1e-9 if left_mw[at] > 0.0 else 0.0
        take = want if fit >= want else int(fit)
        path = routes[here][regions[d]]
        if path and take:
            left = min(left_rigs[base + k] for k in path)
            if left < take:
                take = int(left) if left > 0.0 else 0
            for k in path:
                left_rigs[base + k] -= take
        left_mw[at] -= take * per_rig
        out.append(take)
    bookable[:] = left_mw
    route_left[:] = left_rigs
    return np.array(out, dtype=np.int64)


def distinct_in_order(rows: NDArray[np.int64], size: int, large: bool = True
                      ) -> NDArray[np.int64]:
    """Each of `rows` (of a fleet of `size` rows) once, at its first occurrence, in order
    (compiled only for a `large` fleet)."""
    kernels = _kernels() if large and enabled() else None
    if kernels is None:
        _, first = np.unique(rows, return_index=True)
        return rows[np.sort(first)]
    if len(_Scratch.seen) < size:
        _Scratch.seen = np.zeros(size, dtype=bool)
    rows = rows.copy()
    return rows[: kernels["first_seen"](rows, _Scratch.seen)]


def move_cells(cols: dict[str, NDArray[Any]], n: int, wanted: NDArray[np.bool_], status: int,
               num_subs: int, never: int, t_since: int | None, large: bool = True) -> None:
    """Rows ``[0, n)`` whose key is `wanted` take `status` (and it as their key's sub-status:
    its low bits, below `num_subs`), no timer, and (if given) `t_since` (compiled only for a
    `large` fleet)."""
    kernels = _kernels() if large and enabled() else None
    key = cols["key"][:n]
    if kernels is None:
        mask = np.take(wanted, key)
        np.copyto(key, (key & ~(num_subs - 1)) | status, where=mask)
        writes = {"status": status, "t_due": never}
        if t_since is not None:
            writes["t_since"] = t_since
        for name, value in writes.items():
            np.copyto(cols[name][:n], value, where=mask)
        return
    kernels["move_cells"](key, wanted, status, num_subs - 1, cols["status"][:n],
                          cols["status"].dtype.type(status), cols["t_due"][:n],
                          cols["t_due"].dtype.type(never), cols["t_since"][:n],
                          cols["t_since"].dtype.type(t_since or 0), t_since is not None)


class _Scratch:
    """Buffers of the fleet's size, reused (fresh ones of millions of rows would be paged in on
    every pass): row indices, and a marker per row that is all False between calls."""

    buffer = np.zeros(0, dtype=np.int32)
    seen = np.zeros(0, dtype=bool)

    @classmethod
    def get(cls, n: int) -> NDArray[np.int32]:
        if len(cls.buffer) < n:
            cls.buffer = np.empty(n, dtype=np.int32)
        return cls.buffer


def _out(k: int) -> Rows:
    return _Scratch.buffer[:k].astype(np.intp)


def _rows_of_byte(kernels: dict[str, Any], column: NDArray[np.int8], value: int,
                  out: NDArray[np.int32]) -> int:
    """Rows of a byte column holding `value`, written to `out`; how many."""
    column, byte = column.view(np.uint8), value % 256
    # words of 8 bytes pay where few bytes match; past a few percent, matches in most words
    # make the byte-by-byte pass faster (estimated from every SAMPLE-th byte)
    step = max(1, len(column) // SAMPLE)
    dense = np.count_nonzero(column[::step] == byte) > WORDS_BELOW * len(column[::step])
    if dense or sys.byteorder != "little":
        return int(kernels["rows_in"](column, _status_table(byte), out))
    whole = len(column) - len(column) % 8
    return int(kernels["rows_of_byte"](column[:whole].view(np.uint64), column[whole:],
                                       np.uint64(byte), out))


def _status_table(value: int) -> NDArray[np.bool_]:
    """A lookup table over a status byte: True at `value` only."""
    table = np.zeros(256, dtype=bool)
    table[value] = True
    return table


def rows_equal(column: NDArray[np.int8], value: int, key: NDArray[np.int32] | None = None,
               wanted: NDArray[np.bool_] | None = None, large: bool = True) -> Rows:
    """Rows where ``column == value`` (a status column; and, if given, ``wanted[key]``), in
    row order (compiled only for a `large` fleet)."""
    kernels = _kernels() if large and enabled() else None
    if kernels is None:
        rows = np.flatnonzero(column == value)
        return rows if key is None or wanted is None else rows[np.take(wanted, key[rows])]
    buffer = _Scratch.get(len(column))
    k = _rows_of_byte(kernels, column, value, buffer)
    if key is not None and wanted is not None:
        k = kernels["keep_in"](buffer, k, key, wanted)
    return _out(k)


def rows_wanted(key: NDArray[np.int32], wanted: NDArray[np.bool_], large: bool = True) -> Rows:
    """Rows where ``wanted[key]``, in row order (compiled only for a `large` fleet)."""
    kernels = _kernels() if large and enabled() else None
    if kernels is None:
        return np.flatnonzero(np.take(wanted, key))
    return _out(kernels["rows_in"](key, wanted, _Scratch.get(len(key))))


def rows_by_slot(key: NDArray[np.int32], slot: NDArray[np.int64], num_slots: int,
                 status: NDArray[np.int8] | None = None, value: int = 0, large: bool = True
                 ) -> tuple[Rows, NDArray[np.int64]]:
    """Rows whose key has a slot (``slot[key] >= 0``; and, if `status` is given, holding
    `value`), ordered by slot and, within a slot, by row; with the bounds of each slot's rows
    (``bounds[j]:bounds[j + 1]``). Compiled only for a `large` fleet."""
    kernels = _kernels() if large and enabled() else None
    if kernels is None:
        wanted = slot >= 0
        rows = (rows_wanted(key, wanted, large=False) if status is None
                else rows_equal(status, value, key, wanted, large=False))
        order, bounds = group_order(slot[key[rows]], num_slots)
        return rows[order], bounds
    buffer = _Scratch.get(len(key))
    if status is None:
        k = kernels["rows_in"](key, slot >= 0, buffer)
    else:
        k = _rows_of_byte(kernels, status, value, buffer)
    rows, bounds = kernels["group_by_slot"](buffer, k, key, slot, num_slots)
    return rows, bounds
