"""hashsim's daily rules for one rig at a time: what a per-agent model would code.

Every function here takes one `Rig` and the day's context and changes that rig only. They
mirror sim/agents/miners.py in its order — timers (arrivals, end of hibernation) → queue
admission → economics → switching → enforcement → pre-emptive exits → decisions → shipping —
and sim/agents/pools.py where a pool stops serving a rig. The context (`Today`) and everything
decided on groups rather than rigs (admission order, the logit probabilities, capacity books,
pool choice) come from benchmarks/baselines/institutions.py.

Random events are one draw per rig: a Bernoulli where hashsim draws a binomial on a cohort, a
categorical where it draws a multinomial — the same law, not the same random stream.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import Protocol

from sim.state import BANNED_OFF, IN_TRANSIT, NEVER, OFFLINE, ONLINE, QUEUED, RETIRED, UNDERGROUND
from sim.world import TIER_OFFSETS

TIERS = [float(x) for x in TIER_OFFSETS]
#: hashsim's decision alternatives after the destinations (sim.agents.miners.ALTERNATIVES).
UNDER, HIBERNATE, SELL, RETIRE = range(4)


class Draws(Protocol):
    """A source of uniform numbers in [0, 1) (random.Random, Mesa's model.random)."""

    def random(self) -> float: ...


@dataclass(slots=True)
class Rig:
    """One rig, as a row of hashsim's fleet in rig resolution."""

    uid: int  # its row in the fleet it was copied from (breaks ties in the queue)
    status: int
    region: int  # where it is; while in transit, where it is going
    pool: int
    hw: int
    facility: int  # −1: none
    tier: int  # power-price tier of its site
    t_due: int  # day its timer fires (arrival, end of hibernation), NEVER if none
    t_since: int  # day it entered its status (queue order)


@dataclass(slots=True)
class Today:
    """What the rules read on one day, as plain Python lists (built once a day)."""

    day: int
    revenue_k: list[float]  # USD per rig per day by hardware, gross of fee and haircut
    cost_rk: list[list[float]]  # power cost at the region's price [region][hw]
    power_w: list[float]
    elec: list[float]  # power price by region
    spread: list[float] | None  # price spread of sites by region; None: no region has one
    fac_price: list[float | None]  # a facility's own power price (None: the region's)
    fac_fee: list[float]  # hosting fee per kWh (0 unless hosting)
    pool_fee: list[float]
    haircut: list[float]
    outage: list[bool]
    cutoff: list[bool]
    p_ban: list[float]  # probability that enforcement hits an exposed rig today
    p_detect: list[float]  # probability that an underground rig is found today
    banned: list[bool]
    pool_open: list[bool]
    pool_serves: list[list[bool]]  # [pool][region]
    exit_rate: list[float]
    off_margin: float
    on_margin: float
    decision_rate: float


class PoolChoice(Protocol):
    """Today's pools (institutions.Pools): which pools stop serving whom, and the choice of
    a rig that must leave its pool."""

    #: (pools, regions, fraction, underground): miners of those pools there leave with that
    #: probability (underground ones too where the pool shuts down)
    departures: list[tuple[frozenset[int], frozenset[int], float, bool]]
    #: per region: whether a ban is in force there today
    banned: list[bool]

    def serves(self, rig: Rig) -> bool: ...

    def draw(self, rig: Rig, rng: Draws) -> int: ...


class Booking(Protocol):
    """Today's relocation desk: destinations, their capacity, transit times
    (institutions.Market)."""

    dests: list[int]
    hibernate_days: int
    sell_days: int

    def book(self, rig: Rig, k: int) -> bool: ...

    def transit(self, origin: int, dest: int) -> list[float]: ...


# ------------------------------------------------------------------------------ small helpers


def cumulative(probs: list[float]) -> list[float]:
    """Running sums of choice probabilities clipped to [0, 1] (scaled down if they add up
    above one), as kernels.allocate reads them; what is left is "no choice"."""
    q = [min(max(x, 0.0), 1.0) for x in probs]
    total = sum(q)
    if total > 1.0:
        q = [x / total for x in q]
    return list(accumulate(q))


def pick(cum: list[float], rng: Draws) -> int:
    """An alternative drawn from running sums `cum`; len(cum) where none is drawn."""
    return bisect_right(cum, rng.random())


def force_off(rig: Rig, day: int) -> None:
    rig.status = BANNED_OFF
    rig.t_since = day
    rig.t_due = NEVER


def queue(rig: Rig, day: int) -> None:
    rig.status = QUEUED
    rig.t_since = day
    rig.t_due = NEVER


# ------------------------------------------------------------------------------ pools, timers


def reassign(rig: Rig, day: int, pools: PoolChoice, rng: Draws) -> None:
    """The rig picks another pool; with none left it is forced off (pools.reassign)."""
    new = pools.draw(rig, rng)
    if new < 0:
        force_off(rig, day)
    else:
        rig.pool = new


def morning(rig: Rig, day: int, pools: PoolChoice, rng: Draws) -> None:
    """Start of the day: miners leaving pools that stop serving or wind down today
    (pools.leave_pools: with probability `fraction`, rigs not in transit or retired, and not
    underground unless the pool shuts down); then a shipment due today queues at its
    destination and picks another pool if its own does not serve it there
    (miners.resolve_timers); a hibernation ends; where no ban is in force, underground rigs
    and forced-off ones whose pool serves them queue (miners.come_back)."""
    for leaving, regions, fraction, underground in pools.departures:
        if (rig.status not in (IN_TRANSIT, RETIRED)
                and (underground or rig.status != UNDERGROUND) and rig.pool in leaving
                and rig.region in regions and rng.random() < fraction):
            reassign(rig, day, pools, rng)
    if rig.t_due <= day:
        if rig.status == IN_TRANSIT:
            queue(rig, day)
            if not pools.serves(rig):
                reassign(rig, day, pools, rng)
        elif rig.status == BANNED_OFF:
            rig.t_due = NEVER
    if not pools.banned[rig.region]:
        if rig.status == UNDERGROUND or (rig.status == BANNED_OFF and pools.serves(rig)):
            queue(rig, day)


# ------------------------------------------------------------------------------ economics


def cost_usd_per_day(rig: Rig, t: Today) -> float:
    """One day of the rig's power at its facility's, site's or region's price, plus the
    hosting fee in a hosting facility (miners.cost_usd_per_day)."""
    f = rig.facility
    if f >= 0:
        price = t.fac_price[f]
        if price is None:
            price = t.elec[rig.region]
        return t.power_w[rig.hw] * 24.0 / 1000.0 * (price + t.fac_fee[f])
    if t.spread is not None:
        price = t.elec[rig.region] + t.spread[rig.region] * TIERS[rig.tier]
        return t.power_w[rig.hw] * (24.0 / 1000.0) * max(price, 0.0)
    return t.cost_rk[rig.region][rig.hw]


def switch(rig: Rig, t: Today) -> None:
    """Online below the off margin (or in an outage) → offline; offline above the on margin,
    with power, → online (miners.switch)."""
    status = rig.status
    if status != ONLINE and status != OFFLINE:
        return
    r = rig.region
    revenue = t.revenue_k[rig.hw] * (1.0 - t.pool_fee[rig.pool]) * (1.0 - t.haircut[r])
    cost = cost_usd_per_day(rig, t)
    rel = (revenue - cost) / max(cost, 1e-12)
    if status == ONLINE:
        if rel < t.off_margin or t.outage[r]:
            rig.status = OFFLINE
            rig.t_since = t.day
    elif rel > t.on_margin and not t.outage[r] and not t.cutoff[r]:
        rig.status = ONLINE
        rig.t_since = t.day


def enforce(rig: Rig, t: Today, rng: Draws) -> None:
    """A rig online, offline or queued is hit with its region's ban probability, one
    underground is found with the detection probability (miners.enforce)."""
    status, r = rig.status, rig.region
    if status == ONLINE or status == OFFLINE or status == QUEUED:
        p = t.p_ban[r]
        if p > 0.0 and rng.random() < p:
            force_off(rig, t.day)
    elif status == UNDERGROUND:
        p = t.p_detect[r]
        if p > 0.0 and rng.random() < p:
            force_off(rig, t.day)


def may_exit(rig: Rig, t: Today, rng: Draws) -> bool:
    """Whether an online rig leaves pre-emptively today (miners.exits' thinning)."""
    p = t.exit_rate[rig.region]
    return rig.status == ONLINE and p > 0.0 and rng.random() < p


def may_decide(rig: Rig, t: Today, rng: Draws) -> bool:
    """Whether a forced-off rig (not hibernating) decides today (miners.decide's thinning)."""
    return (rig.status == BANNED_OFF and rig.t_due == NEVER
            and rng.random() < t.decision_rate)


# ------------------------------------------------------------------------------ moving


def ship(rig: Rig, dest: int, day: int, extra_days: int, desk: Booking, rng: Draws) -> None:
    """In transit to `dest` (where it now counts), out of its facility, arriving after a
    whole number of days drawn from the path's transit distribution (miners.ship)."""
    cum = desk.transit(rig.region, dest)
    rig.status = IN_TRANSIT
    rig.region = dest
    rig.facility = -1
    rig.t_since = day
    rig.t_due = day + extra_days + min(bisect_right(cum, rng.random()), len(cum) - 1)


def leave(rig: Rig, cum: list[float], day: int, desk: Booking, rng: Draws,
          extra_days: int = 0) -> bool:
    """Draw a destination from `cum` (over desk.dests), book it and ship; False where the
    rig draws none or finds no room (it stays)."""
    k = pick(cum, rng)
    if k >= len(desk.dests) or not desk.book(rig, k):
        return False
    ship(rig, desk.dests[k], day, extra_days, desk, rng)
    return True


def decide(rig: Rig, cum: list[float], day: int, desk: Booking, rng: Draws) -> bool:
    """A deciding rig draws from `cum` (destinations, then underground, hibernate, sell,
    retire) and acts; a relocation without room, or no draw, waits. True: it sells (the buyer
    then takes it, see `leave`)."""
    k = pick(cum, rng)
    n_dest = len(desk.dests)
    if k < n_dest:
        if desk.book(rig, k):
            ship(rig, desk.dests[k], day, 0, desk, rng)
        return False
    choice = k - n_dest
    if choice == UNDER:
        rig.status = UNDERGROUND
        rig.facility = -1  # hidden mining leaves the facility (miners._apply_choices)
    elif choice == HIBERNATE:
        rig.t_due = day + desk.hibernate_days
    elif choice == RETIRE:
        rig.status = RETIRED
    return choice == SELL
