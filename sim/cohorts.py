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
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.state import NUM_SUBS, keys_of
from sim.world import World

I64 = NDArray[np.int64]
Rows = NDArray[np.intp]


@dataclass(slots=True)
class Cohorts:
    """Cohorts with `counts` rigs each, in region `origin` with hardware `hw` and `pool`."""

    world: World
    rng: np.random.Generator  # names the rows in rig resolution
    counts: I64
    origin: NDArray[np.intp]
    hw: NDArray[np.intp]
    pool: NDArray[np.intp]
    rows: Rows | None = None  # cohort resolution: the fleet rows
    keys: I64 | None = None  # rig resolution: the tally keys
    # rig resolution, cohorts of given rows only: those rows, shuffled within each cohort,
    # and where each cohort's not yet taken ones start ([cohort] … [cohort + 1] in members)
    members: Rows | None = None
    cursor: I64 | None = None

    def __len__(self) -> int:
        return len(self.counts)

    def subset(self, keep: NDArray[np.bool_]) -> Cohorts:
        """The cohorts where `keep` holds."""
        return self.with_counts(np.where(keep, self.counts, 0))

    def with_counts(self, counts: I64) -> Cohorts:
        """The cohorts with `counts` rigs instead, those with none dropped."""
        keep = counts > 0

        def cut(a: NDArray[Any] | None) -> NDArray[Any] | None:
            return None if a is None else a[keep]

        return Cohorts(self.world, self.rng, counts[keep], self.origin[keep], self.hw[keep],
                       self.pool[keep], rows=cut(self.rows), keys=cut(self.keys),
                       members=self.members, cursor=cut(self.cursor))

    def narrow(self, moving: I64) -> Cohorts:
        """Cohorts of the `moving[i]` rigs of each cohort that are about to be taken, in
        several takes (rig resolution: they are drawn now, at once; cohort resolution: the
        takes split the rows as they come)."""
        if self.rows is not None:
            return self
        moving = np.asarray(moving, dtype=np.int64)
        if self.members is not None:  # already shuffled within each cohort
            members = self.take(moving)
        else:
            assert self.keys is not None
            members = self.world.fleet.pick(self.rng, self.keys, moving, shuffled=True)
        cursor = np.cumsum(moving)
        cursor -= moving  # (where each cohort's rows start in members)
        # (the constructor, not dataclasses.replace: it costs a tenth)
        return Cohorts(self.world, self.rng, moving, self.origin, self.hw, self.pool,
                       rows=self.rows, keys=self.keys, members=members, cursor=cursor)

    def take(self, moving: I64) -> Rows:
        """Rows that carry `moving[i]` rigs of cohort i, for the caller to change now (before
        the next take: a change of status moves a rig out of its cohort). After
        :meth:`with_counts`, take from the new cohorts only."""
        fleet = self.world.fleet
        if self.rows is not None:
            return fleet.split(self.rows, moving)
        assert self.keys is not None
        if self.members is None:  # a single take: its order does not matter
            return fleet.pick(self.rng, self.keys, moving, shuffled=False)
        assert self.cursor is not None
        moving = np.asarray(moving, dtype=np.int64)
        starts = self.cursor.copy()
        np.add(self.cursor, moving, out=self.cursor)  # taken rows are not taken again
        return self.members[ranges(starts, moving)]


def ranges(starts: NDArray[np.integer], lengths: NDArray[np.integer]) -> Rows:
    """Concatenated index ranges [start, start + length)."""
    ends = np.cumsum(lengths)
    offsets = np.repeat(starts - (ends - lengths), lengths)  # (ends − lengths: where each begins)
    offsets += np.arange(len(offsets))
    return offsets.astype(np.intp, copy=False)


def _of_groups(world: World, keys: I64, counts: I64, rng: np.random.Generator,
               **extra: Rows | I64) -> Cohorts:
    g = world.fleet.group
    groups = keys // NUM_SUBS
    return Cohorts(world, rng, counts, g("region")[groups], g("hw")[groups], g("pool")[groups],
                   keys=keys, **extra)


def _of_rows(world: World, rows: Rows, rng: np.random.Generator) -> Cohorts:
    fleet = world.fleet
    if world.copies > 1:  # a batch world's copies one after the other, each in row order
        rows = rows[np.argsort(world.region_copy(fleet.region[rows]), kind="stable")]
    # (indexing by rows copies: later changes to the rows do not reach the cohorts)
    return Cohorts(world, rng, fleet.count[rows], fleet.region[rows], fleet.hw[rows],
                   fleet.pool[rows], rows=rows)


def cohorts_of(world: World, keys: I64, rng: np.random.Generator) -> Cohorts:
    """The rigs in tally cells `keys` (cells holding no rig are skipped without a search:
    their rows, if any, are empty, and no draw is made for an empty row)."""
    fleet = world.fleet
    flat = fleet.tally.ravel()
    keys = keys[flat[keys] > 0]
    if world.scenario.resolution == "rig":
        return _of_groups(world, keys, flat[keys].copy(), rng)
    rows = fleet.rows_with(keys) if len(keys) else np.zeros(0, dtype=np.intp)
    return _of_rows(world, rows, rng)


def cohorts_among(world: World, rows: Rows, rng: np.random.Generator) -> Cohorts:
    """The rigs of `rows` (distinct) only; in rig resolution grouped by tally cell."""
    if world.scenario.resolution != "rig":
        return _of_rows(world, rows, rng)
    key = world.fleet.key[rows]
    order = np.lexsort((rng.random(len(rows)), key))  # shuffled within each cell
    keys, first, counts = np.unique(key[order], return_index=True, return_counts=True)
    return _of_groups(world, keys.astype(np.int64), counts.astype(np.int64), rng,
                      members=rows[order], cursor=first.astype(np.int64))


def populated(world: World, regions: NDArray[np.integer], subs: Iterable[int]
              ) -> NDArray[np.intp]:
    """Those of `regions` that hold a rig in one of the sub-statuses `subs` (from the tally:
    the others need no search and no draw)."""
    fleet = world.fleet
    rigs = fleet.tally[:, sorted(subs)].sum(axis=1)
    held = np.bincount(fleet.group("region"), rigs, minlength=world.num_regions) > 0
    return np.asarray(regions, dtype=np.intp)[held[regions]]


def cohorts_in(world: World, region: int | NDArray[np.integer], subs: Iterable[int],
               rng: np.random.Generator) -> Cohorts:
    """The rigs of leaf region(s) `region` in the sub-statuses `subs`."""
    where = world.fleet.group("region")
    if np.ndim(region) == 0:
        groups = np.flatnonzero(where == region)
    else:  # (a table of the regions: np.isin costs ten times as much on a few dozen groups)
        among = np.zeros(world.num_regions, dtype=bool)
        among[region] = True
        groups = among[where].nonzero()[0]
    keys = (keys_of(groups, 0)[:, None] + np.array(sorted(subs))[None, :]).ravel()  # sorted
    return cohorts_of(world, keys, rng)
