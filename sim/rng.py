"""Named random streams from one SeedSequence tree.

Stream ``name`` of replicate ``k`` under master seed ``s`` is
``Generator(PCG64(SeedSequence(s, spawn_key=(k, STREAMS[name]))))``: any replicate is reached
directly, so results depend neither on worker count nor on the order replicates run in, and two
arms of an experiment that share (seed, replicate) share their random numbers.
"""

from __future__ import annotations

import secrets

import numpy as np

#: Stream ids are part of the reproducibility contract: append, never renumber.
STREAMS: dict[str, int] = {
    "chain": 0,
    "price": 1,
    "enforcement": 2,
    "decisions": 3,
    "transit": 4,
    "pools": 5,
    "departures": 6,
    "suspensions": 7,
}


def draw_seed() -> int:
    """A fresh master seed for a run that was not given one (recorded in run.json)."""
    return secrets.randbits(63)


def stream(seed: int, replicate: int, name: str, sample: int | None = None) -> np.random.Generator:
    """The generator of stream `name` for `replicate` (and experiment `sample`, if any)."""
    key = (replicate, STREAMS[name]) if sample is None else (sample, replicate, STREAMS[name])
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


class Streams:
    """The named generators of one run, created on first use."""

    def __init__(self, seed: int, replicate: int, sample: int | None = None) -> None:
        self.seed = seed
        self.replicate = replicate
        self.sample = sample
        self._cache: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._cache.get(name)
        if gen is None:
            gen = self._cache[name] = stream(self.seed, self.replicate, name, self.sample)
        return gen
