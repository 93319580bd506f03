"""Who may move today: cohorts of identical rigs, as fleet rows or as groups of the tally.

In cohort resolution a cohort is a fleet row (its rigs are identical by construction); in rig
resolution it is a group of single-rig rows that agree on everything the rules read (a cell of
the fleet's tally). The rules draw how many rigs of each cohort do something — binomial or
multinomial counts, the same law as one draw per rig, since the rigs are exchangeable — and
:meth:`Cohorts.take` then names the rows that carry them: a split of the row, or in rig
resolution a uniform sample of the group's rows. No draw is made per rig.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from sim.state import keys_of
from sim.world import World

I64 = NDArray[np.int64]
Rows = NDArray[np.intp]


@dataclass(frozen=True)
class Cohorts:
    """Cohorts with `counts` rigs each, in region `origin` with hardware `hw`."""

    world: World
    rng: np.random.Generator  # names the rows in rig resolution
    counts: I64
    origin: NDArray[np.intp]
    hw: NDArray[np.intp]
    rows: Rows | None = None  # cohort resolution: the fleet rows
    keys: I64 | None = None  # rig resolution: the tally keys

    def __len__(self) -> int:
        return len(self.counts)

    def with_counts(self, counts: I64) -> Cohorts:
        """The cohorts with `counts` rigs instead, those with none dropped."""
        keep = counts > 0
        return replace(self, counts=counts[keep], origin=self.origin[keep], hw=self.hw[keep],
                       rows=None if self.rows is None else self.rows[keep],
                       keys=None if self.keys is None else self.keys[keep])

    def take(self, moving: I64) -> Rows:
        """Rows that carry `moving[i]` rigs of cohort i, for the caller to change now (before
        the next take: a change of status moves a rig out of its cohort)."""
        fleet = self.world.fleet
        if self.rows is not None:
            return fleet.split(self.rows, moving)
        assert self.keys is not None
        return fleet.pick(self.rng, self.keys, moving)


def cohorts_of(world: World, keys: I64, rng: np.random.Generator) -> Cohorts:
    """The rigs in tally cells `keys`."""
    fleet = world.fleet
    if world.scenario.resolution == "rig":
        flat = fleet.tally.ravel()
        keys = keys[flat[keys] > 0]
        groups = keys // fleet.tally.shape[1]
        return Cohorts(world, rng, flat[keys].copy(), fleet.group("region")[groups],
                       fleet.group("hw")[groups], keys=keys)
    rows = fleet.rows_with(keys)
    return Cohorts(world, rng, fleet.count[rows].copy(), fleet.region[rows].copy(),
                   fleet.hw[rows].copy(), rows=rows)


def cohorts_in(world: World, region: int, subs: Iterable[int],
               rng: np.random.Generator) -> Cohorts:
    """The rigs of leaf region `region` in the sub-statuses `subs`."""
    groups = np.flatnonzero(world.fleet.group("region") == region)
    keys = np.sort(np.concatenate([keys_of(groups, s) for s in subs]))
    return cohorts_of(world, keys, rng)
