"""Rigs that switch off and wait, without deciding anything: a share of a region's farms losing
power (a partial outage, coming back farm by farm), or miners waiting to see after an
announcement. A suspended rig is offline with a timer; it occupies its rack, can be hit by a
ban's enforcement like any offline rig, and switches on by the margin once the timer has run
out (sim/agents/miners.py, resolve_timers and switch).
"""

from __future__ import annotations

import numpy as np

from sim import kernels
from sim.cohorts import cohorts_in
from sim.state import OFFLINE, ONLINE
from sim.world import World


def suspend(world: World, region: int, share: float, until_day: int, spread_days: int,
            subs: tuple[int, ...] = (ONLINE, OFFLINE)) -> int:
    """Each rig of leaf `region` in `subs` is suspended with probability `share`, until a day
    drawn evenly from the `spread_days` days `until_day` … `until_day + spread_days − 1` (all
    on `until_day` for 0 or 1); returns how many were."""
    rng = world.stream("suspensions", int(world.region_copy(np.array(region))))
    running = cohorts_in(world, region, subs, rng)
    hit = kernels.thin(rng, running.counts, share)
    if not hit.any():
        return 0
    days = max(spread_days, 1)
    by_day = rng.multinomial(hit, np.full(days, 1.0 / days))  # (cohorts, days)
    movers = running.narrow(hit)
    for j in np.flatnonzero(by_day.sum(axis=0)):
        world.fleet.set(movers.take(by_day[:, j]), status=OFFLINE, t_since=world.day,
                        t_due=until_day + int(j))
    return int(hit.sum())


def wait_and_see(world: World) -> None:
    """Where an announcement is in force, a share of online rigs switches off to wait."""
    for r in np.flatnonzero(world.suspend_rate_per_day > 0):
        days = int(np.ceil(world.suspend_days[r]))
        suspend(world, int(r), float(world.suspend_rate_per_day[r]), world.day + days, 0,
                subs=(ONLINE,))
