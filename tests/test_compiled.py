"""The compiled passes (sim/compiled.py) give the same rows as their numpy references, and a
rig-resolution run gives the same tables whichever passes it uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim.rowsearch as rowsearch
from sim import compiled
from sim.bundled import resolve
from sim.engine import run_replicate
from sim.state import NEVER
from sim.validation import load
from sim.world import World

numba = pytest.importorskip("numba")
ROOT = Path(__file__).resolve().parents[1]


def _both(monkeypatch: pytest.MonkeyPatch, call):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(compiled.ENV, "1")
    assert compiled.enabled()
    fast = call()
    monkeypatch.setenv(compiled.ENV, "0")
    assert not compiled.enabled()
    return fast, call()


@pytest.mark.parametrize("density", [0.0, 0.001, 0.06, 0.5, 1.0])
@pytest.mark.parametrize("n", [0, 1, 7, 100_003])
def test_passes_equal_numpy(monkeypatch: pytest.MonkeyPatch, n: int, density: float) -> None:
    rng = np.random.default_rng(n + int(density * 1000))
    status = np.where(rng.random(n) < density, 2, rng.integers(0, 2, n)).astype(np.int8)
    key = (rng.integers(0, 50, n) * 16 + status).astype(np.int32)
    wanted = rng.random(50 * 16) < 0.5
    cases = [lambda: compiled.rows_equal(status, 2),
             lambda: compiled.rows_equal(status, 2, key, wanted),
             lambda: compiled.rows_wanted(key, wanted)]
    for call in cases:
        fast, reference = _both(monkeypatch, call)
        assert fast.dtype == reference.dtype == np.intp
        np.testing.assert_array_equal(fast, reference)
    slot = np.full(50 * 16, -1, dtype=np.int64)
    chosen = rng.choice(50 * 16, size=7, replace=False)
    slot[chosen] = np.arange(7)
    for status_column in (None, status):
        fast, reference = _both(monkeypatch, lambda column=status_column: compiled.rows_by_slot(
            key, slot, 7, column, 2))
        for got, want in zip(fast, reference, strict=True):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == want.dtype


@pytest.mark.parametrize("value", [0, 1, 2, 127, -128, -1])
def test_rows_of_a_byte_word_by_word(value: int) -> None:
    """The pass over 8 bytes at a time finds exactly the bytes equal to `value`: at every
    position in a word, beside bytes one above or below it (where a word's test for a zero
    byte borrows), in runs, and in a tail shorter than a word."""
    kernels = compiled._kernels()
    assert kernels is not None
    rng = np.random.default_rng(value + 128)
    for n in (0, 5, 8, 64, 1003, 100_005):
        column = rng.integers(-128, 128, n).astype(np.int8)
        near = rng.random(n)
        column[near < 0.05] = np.int8(value)
        column[(near >= 0.05) & (near < 0.1)] = np.int8((value + 1 + 128) % 256 - 128)
        column[(near >= 0.1) & (near < 0.15)] = np.int8((value - 1 + 128) % 256 - 128)
        if n >= 64:
            column[16:40] = np.int8(value)  # a run
        out = np.empty(n, dtype=np.int32)
        k = compiled._rows_of_byte(kernels, column, value, out)
        np.testing.assert_array_equal(out[:k], np.flatnonzero(column == value))
        whole = n - n % 8  # the word pass itself, whatever the density
        k = kernels["rows_of_byte"](column.view(np.uint8)[:whole].view(np.uint64),
                                    column.view(np.uint8)[whole:], np.uint64(value % 256), out)
        np.testing.assert_array_equal(out[:k], np.flatnonzero(column == value))


def test_distinct_in_order_and_move_cells_equal_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    drawn = rng.integers(0, 500, 2_000)
    fast, reference = _both(monkeypatch, lambda: compiled.distinct_in_order(drawn, 500))
    np.testing.assert_array_equal(fast, reference)
    np.testing.assert_array_equal(compiled.distinct_in_order(drawn, 500), reference)  # again
    n = 10_000
    start = {"key": (rng.integers(0, 40, n) * 16 + rng.integers(0, 7, n)).astype(np.int32),
             "status": rng.integers(0, 7, n).astype(np.int8),
             "t_due": rng.integers(0, 100, n).astype(np.int32),
             "t_since": rng.integers(0, 100, n).astype(np.int32)}
    wanted = rng.random(40 * 16) < 0.3
    for since in (None, 42):
        def move(since: int | None = since) -> dict:  # type: ignore[type-arg]
            cols = {name: col.copy() for name, col in start.items()}
            compiled.move_cells(cols, n - 7, wanted, 1, 16, NEVER, since)
            return cols
        fast, reference = _both(monkeypatch, move)
        for name, col in reference.items():
            np.testing.assert_array_equal(fast[name], col)
        assert not np.array_equal(reference["key"], start["key"])  # something moved


@pytest.mark.parametrize("counted", [False, True])
def test_queues_within_reach_equal_numpy(monkeypatch: pytest.MonkeyPatch, counted: bool) -> None:
    """The rows of queues that could be served (each queue's MW summed day by day up to its
    free MW) are the same compiled and in numpy, with free MW that some queues reach on
    some day, one never, and one of none (reached on the first day)."""
    rng = np.random.default_rng(11 + counted)
    n, groups, days = 50_000, 30, 40
    key = (rng.integers(0, groups, n) * 16 + rng.integers(0, 16, n)).astype(np.int32)
    unit_of_key = np.full(groups * 16, -1, dtype=np.int64)
    queued_keys = np.arange(groups) * 16 + 3
    unit_of_key[queued_keys] = rng.integers(0, 4, groups)
    rows = np.flatnonzero(unit_of_key[key] >= 0)
    since = rng.integers(0, days, n).astype(np.int32)
    count = rng.integers(1, 5, n) if counted else None
    power = rng.uniform(1_000.0, 3_500.0, groups)
    free = np.array([5.0, 1e9, 0.0, 20.0])
    fast, reference = _both(monkeypatch, lambda: compiled.within_reach(
        rows, key, unit_of_key, np.repeat(power, 16), since, count, free, days))
    np.testing.assert_array_equal(fast, reference)
    assert fast.dtype == reference.dtype
    assert 0 < len(reference) < len(rows)  # some queues were cut
    unit = unit_of_key[key[reference]]
    assert (since[reference[unit == 2]] == 0).all()  # no free MW: reached on the first day
    assert np.isin(rows[unit_of_key[key[rows]] == 1], reference).all()  # never reached


@pytest.mark.parametrize("seed", range(4))
def test_booking_in_turn_equals_the_reference_loop(monkeypatch: pytest.MonkeyPatch,
                                                   seed: int) -> None:
    """Relocations booked one after another against destinations' MW and routes' rigs
    (routes shared by several paths, some unlimited, some nearly full; MW left for a
    fraction of a rig) take the same rigs and leave the same MW and rigs to the last bit,
    compiled and in the reference loop."""
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    regions, routes, copies, dests, n = 6, 5, 3, 4, 400
    paths = [[sorted(rng.choice(routes, rng.integers(0, 3), replace=False).tolist())
              for _ in range(regions)] for _ in range(regions)]
    lengths = np.array([len(paths[o][d]) for o in range(regions) for d in range(regions)])
    geo = SimpleNamespace(
        num_regions=regions, path_routes=paths, path_length=lengths.astype(np.intp),
        path_start=np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp),
        path_route=np.array([k for row in paths for p in row for k in p], dtype=np.intp))
    dest = rng.integers(0, dests, n).astype(np.int64)
    copy = rng.integers(0, copies, n)
    args = (dest, (copy * dests + dest).astype(np.int64), rng.integers(0, 40, n),
            rng.uniform(0.002, 0.004, n), rng.integers(0, regions, n).astype(np.int64),
            rng.choice(regions, dests, replace=False).astype(np.int64),
            (copy * routes).astype(np.int64))
    bookable = rng.uniform(0.0, 5.0, copies * dests)
    bookable[::5] = 0.0031  # about one rig's MW
    route_left = np.where(rng.random(copies * routes) < 0.3, np.inf,
                          rng.integers(0, 300, copies * routes).astype(float))

    def book():  # type: ignore[no-untyped-def]
        mw, left = bookable.copy(), route_left.copy()
        return compiled.book_in_turn(*args, mw, left, geo), mw, left

    fast, reference = _both(monkeypatch, book)
    for a, b in zip(fast, reference, strict=True):
        np.testing.assert_array_equal(a, b)
    taken = reference[0]
    assert taken.dtype == np.int64 and 0 < taken.sum() < args[2].sum()  # some were cut


def test_rig_run_same_with_compiled_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tutorial in rig resolution, with every search taking the large-fleet path (the
    compiled passes, then their numpy references; picks keeping the rows of small cells) and
    timers filed by day, gives the same tables as the small-fleet path with one pass over the
    timers a day; the tally, the keys, the filed timers and the kept cells are checked after
    every day."""
    scenario = load(resolve("tutorial")).model_copy(update={"resolution": "rig"})

    def run(file_timers: bool = True) -> dict:  # type: ignore[type-arg]
        box = {}

        def on_start(world: World) -> None:
            box["world"] = world
            if not file_timers:  # one pass over the timers a day instead
                world.fleet.timers = None

        def on_day(day: int) -> None:
            box["world"].fleet.check()

        tables, _ = run_replicate(scenario, 5, 0, on_day=on_day, on_start=on_start)
        return tables

    monkeypatch.setattr(rowsearch, "KEPT_FROM", 0)  # picks keep the rows of small cells
    monkeypatch.setattr(rowsearch, "LARGE", 1 << 40)
    reference = run(file_timers=False)
    monkeypatch.setattr(rowsearch, "LARGE", 0)
    kept_reads = []
    holds = rowsearch.Cells.holds
    monkeypatch.setattr(rowsearch.Cells, "holds",
                        lambda cells, keys: kept_reads.append(holds(cells, keys))
                        or kept_reads[-1])
    for flag in ("1", "0"):
        monkeypatch.setenv(compiled.ENV, flag)
        tables = run()
        for name, table in reference.items():
            assert tables[name].equals(table), (flag, name)
    assert sum(kept_reads) > 100  # picks did read kept cells, not only pass over the fleet


def test_small_worlds_never_load_numba() -> None:
    """A cohort run, and a rig run of a small fleet, do not even import numba (no compilation,
    no half-second load in a sweep's workers)."""
    code = ("import sys; from sim.validation import load; from sim.engine import run_replicate; "
            "sc = load('scenarios/tutorial.yaml'); run_replicate(sc, 1, 0); "
            "run_replicate(sc.model_copy(update={'resolution': 'rig'}), 1, 0); "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_kernels_compile_without_a_writable_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where numba finds nowhere to cache (a read-only install, no writable home), the kernels
    are compiled in the process instead of failing."""
    from numba.core import caching

    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])
    compiled._kernels.cache_clear()
    try:
        monkeypatch.setenv(compiled.ENV, "1")
        assert compiled.enabled()
        status = np.array([0, 2, 1, 2], dtype=np.int8)
        np.testing.assert_array_equal(compiled.rows_equal(status, 2), [1, 3])
    finally:
        compiled._kernels.cache_clear()
