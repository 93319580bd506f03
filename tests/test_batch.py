"""A batch world (sim/batch.py) gives each replicate exactly the tables it gets alone."""

from __future__ import annotations

import pandas as pd
import pytest

import sim
from sim.batch import SEP, run_batch, stack
from sim.engine import run_replicate


def _same(alone: dict[str, pd.DataFrame], batched: dict[str, pd.DataFrame]) -> None:
    assert set(alone) == set(batched)
    for name, df in alone.items():
        pd.testing.assert_frame_equal(df.reset_index(drop=True), batched[name],
                                      check_exact=True, obj=name)


@pytest.mark.parametrize(("name", "overrides"), [
    ("tutorial", []),
    ("wuhan-general-2018", []),
    ("sparkpool-2021", []),
    ("china-2021", ["end=2021-07-15"]),  # the ban, the pools' exits, the first moves
])
def test_each_copy_of_a_batch_is_its_replicate_alone(name: str, overrides: list[str]) -> None:
    sc = sim.load(name, overrides)
    replicates = [2, 0, 5]  # any replicates, in any order
    for rep, batched in zip(replicates, run_batch(sc, 11, replicates), strict=True):
        alone, _ = run_replicate(sc, 11, rep)
        _same(alone, batched)


def test_a_replicate_is_the_same_in_any_batch() -> None:
    sc = sim.load("tutorial", ["end=2021-06-30"])
    (small,) = run_batch(sc, 3, [4])
    big = run_batch(sc, 3, [7, 4, 1, 9])
    _same(small, big[1])


def test_a_sample_has_its_own_streams() -> None:
    sc = sim.load("tutorial", ["end=2021-05-31"])
    (mine,) = run_batch(sc, 3, [1], sample=2)
    alone, _ = run_replicate(sc, 3, 1, sample=2)
    _same(alone, mine)
    other, _ = run_replicate(sc, 3, 1, sample=3)
    assert not other["flows"].equals(mine["flows"])


def test_stacking_renames_every_copy_apart() -> None:
    sc = sim.load("china-2021")
    st = stack(sc, 3)
    assert len(st.regions) == 3 * len(sc.regions) and len(st.policies) == 3 * len(sc.policies)
    assert {r.name.split(SEP)[1] for r in st.regions} == {"0", "1", "2"}
    assert st.observed is None
    with pytest.raises(ValueError, match="cohort"):
        stack(sim.load("tutorial", ["resolution=rig"]), 2)
