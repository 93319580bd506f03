"""The fleet's behaviour, vectorised over rig rows: the daily step.

Within a day the order is explicit: timers (arrivals, end of hibernation) → queue admission →
economics → switching on/off → enforcement → pre-emptive exits → decisions of forced-off rigs →
purchases. The chain and the recorder follow (sim/engine.py). No Python loop runs over rigs;
loops run over regions, destinations or alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim import kernels
from sim.agents.facilities import admit_queued, occupancy_mw
from sim.agents.pools import ensure_served
from sim.chain import subsidy_sum
from sim.state import (
    BANNED_OFF,
    IN_TRANSIT,
    NEVER,
    OFFLINE,
    ONLINE,
    QUEUED,
    RETIRED,
    UNDERGROUND,
)
from sim.world import TIER_OFFSETS, World, add_rigs, pool_split, purchase_rigs_on

F64 = NDArray[np.float64]
Rows = NDArray[np.intp]


@dataclass
class Economics:
    """Today's unit economics. Revenue and cost are USD per rig per day."""

    hashprice_usd_per_hs_day: F64  # (C,)
    revenue_k: F64  # (K,) gross of pool fee and haircut
    cost_rk: F64  # (R, K) power at the region's price
    margin_rk: F64  # (R, K) revenue (after haircut) − cost, for decisions


def reward_per_block(world: World, c: int) -> float:
    chain = world.chains[c]
    return subsidy_sum(chain.coin, chain.height + 1, 1) + chain.coin.fees_per_block_coins


def mining_hashrate(world: World) -> F64:
    """Hashrate of rigs online or underground, per coin (C,)."""
    fleet = world.fleet
    mining = (fleet.status == ONLINE) | (fleet.status == UNDERGROUND)
    # rigs per hardware model first (exact integers), then hashes: merging rows never
    # changes the sum in its last bit
    rigs = kernels.bincount(fleet.hw, np.where(mining, fleet.count, 0), len(world.hw_coin))
    return kernels.bincount(world.hw_coin, rigs * world.hw_hashrate_hs, len(world.chains))


def economics(world: World, hashrate: F64) -> Economics:
    hp = np.array([
        kernels.hashprice_usd_per_hs_day(
            ch.coin.rule, ch.difficulty, reward_per_block(world, c), float(world.price_usd[c]),
            ch.coin.block_time_s, float(hashrate[c]))
        for c, ch in enumerate(world.chains)])
    revenue_k = world.hw_hashrate_hs * hp[world.hw_coin]
    cost_rk = kernels.power_cost_usd_per_day(world.hw_power_w[None, :],
                                             world.electricity_usd_per_kwh()[:, None])
    margin_rk = revenue_k[None, :] * (1.0 - world.haircut[:, None]) - cost_rk
    return Economics(hp, revenue_k, cost_rk, margin_rk)


def row_cost_usd_per_day(world: World, econ: Economics) -> F64:
    """Daily cost of one rig of each row: power at the region's or facility's price, plus
    the hosting fee in a hosting facility."""
    fleet = world.fleet
    cost = econ.cost_rk[fleet.region, fleet.hw]
    spread = world.geo.electricity_spread_usd_per_kwh
    if spread.any():  # each site's price: the region's mean ± its tier's share of the spread
        price = (world.electricity_usd_per_kwh()[fleet.region]
                 + spread[fleet.region] * TIER_OFFSETS[fleet.tier])
        cost = kernels.power_cost_usd_per_day(world.hw_power_w[fleet.hw], np.maximum(price, 0.0))
    fac = fleet.facility
    in_fac = np.flatnonzero(fac >= 0)
    if len(in_fac):
        f = fac[in_fac]
        kwh = world.hw_power_w[fleet.hw[in_fac]] * 24.0 / 1000.0
        price = np.where(np.isnan(world.fac_power_usd_per_kwh[f]),
                         world.electricity_usd_per_kwh()[fleet.region[in_fac]],
                         world.fac_power_usd_per_kwh[f])
        cost[in_fac] = kwh * (price + np.where(world.fac_hosting[f],
                                               world.fac_fee_usd_per_kwh[f], 0.0))
    return cost


def switch(world: World, econ: Economics) -> None:
    """Online rigs switch off below `switch_off_margin`, offline ones on above
    `switch_on_margin` (relative margin (revenue − cost) / cost): a hysteresis band."""
    fleet = world.fleet
    b = world.scenario.behaviour
    revenue = (econ.revenue_k[fleet.hw] * (1.0 - world.pool_fee[fleet.pool])
               * (1.0 - world.haircut[fleet.region]))
    cost = row_cost_usd_per_day(world, econ)
    rel = (revenue - cost) / np.maximum(cost, 1e-12)
    status = fleet.status
    # An outage switches rigs off (they wait); a cut-off is enforcement's (they are forced off).
    outage = world.outage[fleet.region]
    off = (status == ONLINE) & ((rel < b.switch_off_margin) | outage)
    on = (status == OFFLINE) & (rel > b.switch_on_margin) & ~outage & ~world.cutoff[fleet.region]
    status[off] = OFFLINE
    status[on] = ONLINE
    fleet.t_since[off | on] = world.day


def resolve_timers(world: World) -> None:
    """Shipments that arrive today queue at their destination; hibernation ends."""
    fleet = world.fleet
    due = fleet.t_due <= world.day
    arriving = np.flatnonzero(due & (fleet.status == IN_TRANSIT))
    for (origin, dest), by_day in world.arrivals.items():
        world.flow_arrived[origin, dest] += by_day[world.day]
    if len(arriving):
        fleet.status[arriving] = QUEUED
        fleet.t_since[arriving] = world.day
        fleet.t_due[arriving] = NEVER
        ensure_served(world, arriving)
    fleet = world.fleet
    waking = (fleet.t_due <= world.day) & (fleet.status == BANNED_OFF)
    fleet.t_due[waking] = NEVER


def enforce(world: World) -> None:
    """Bans force rigs off (cut-offs all at once); underground rigs are detected. Where a ban
    has been lifted, underground rigs come back online and forced-off rigs whose pool serves
    the region queue for capacity again."""
    p_ban = world.ban_probability()
    p_detect = -np.expm1(-np.nan_to_num(world.underground_hazard_per_day, nan=0.0))
    rng = world.streams["enforcement"]
    status = world.fleet.status
    exposed = (status == ONLINE) | (status == OFFLINE) | (status == QUEUED)
    _hit(world, rng, exposed, p_ban)
    status = world.fleet.status
    _hit(world, rng, status == UNDERGROUND, p_detect)
    fleet = world.fleet
    allowed = ~world.banned()[fleet.region]
    fleet.status[(fleet.status == UNDERGROUND) & allowed] = ONLINE
    back = np.flatnonzero((fleet.status == BANNED_OFF) & allowed
                          & world.pool_open[fleet.pool] & world.pool_serves[fleet.pool,
                                                                             fleet.region])
    if len(back):
        fleet.status[back] = QUEUED
        fleet.t_since[back] = world.day
        fleet.t_due[back] = NEVER


def _hit(world: World, rng: np.random.Generator, eligible: NDArray[np.bool_], p: F64) -> None:
    region = world.fleet.region
    for r in np.flatnonzero(p > 0):
        rows = np.flatnonzero(eligible & (region == r))
        moving = kernels.thin(rng, world.fleet.count[rows], float(p[r]))
        out = world.fleet.split(rows, moving)
        fleet = world.fleet
        fleet.status[out] = BANNED_OFF
        fleet.t_since[out] = world.day
        fleet.t_due[out] = NEVER


class Relocation:
    """Where relocating rigs can go today, and how much of each destination is left."""

    def __init__(self, world: World, econ: Economics) -> None:
        self.world = world
        geo = world.geo
        b = world.scenario.behaviour
        allowed = geo.is_leaf & ~world.banned()
        if b.destinations is not None:
            allowed &= np.any(geo.covers[[geo.index(n) for n in b.destinations]], axis=0)
        self.dest = np.flatnonzero(allowed)
        self.reachable = geo.reachable()[:, self.dest]  # (R, D)
        general_used, fac_used = occupancy_mw(world)
        horizon = world.day + int(b.capacity_lookahead_days)
        hosts = world.fac_region[world.fac_hosting]
        hosting = kernels.bincount(hosts, world.fac_capacity_mw[world.fac_hosting],
                                   world.num_regions)
        host_used = kernels.bincount(hosts, fac_used[world.fac_hosting], world.num_regions)
        bookable = world.capacity_on(horizon) - general_used + hosting - host_used
        bookable -= self._committed_mw()
        self.bookable_mw = bookable[self.dest]
        self.route_left = np.array([np.inf if rt.capacity_rigs_per_day is None
                                    else rt.capacity_rigs_per_day for rt in geo.routes])
        self.econ = econ

    def _committed_mw(self) -> F64:
        fleet = self.world.fleet
        moving = (fleet.status == IN_TRANSIT) | (fleet.status == QUEUED)
        mw = np.where(moving, fleet.count * self.world.hw_power_w[fleet.hw] / 1e6, 0.0)
        return kernels.bincount(fleet.region, mw, self.world.num_regions)

    def utilities(self, origin: NDArray[np.intp], hw: NDArray[np.intp]) -> F64:
        """Utility of relocating to each destination for groups (origin, hw), shape (G, D)."""
        world, b = self.world, self.world.scenario.behaviour
        geo = world.geo
        transit = geo.mean_transit_days[np.ix_(origin, self.dest)]
        cost = geo.cost_usd_per_rig[np.ix_(origin, self.dest)]
        days = np.maximum(b.horizon_days - np.nan_to_num(transit, posinf=b.horizon_days), 0.0)
        profit = days * self.econ.margin_rk[np.ix_(self.dest, hw)].T - np.nan_to_num(
            cost, posinf=0.0)
        return (profit / b.profit_scale_usd - b.risk_aversion * world.risk[self.dest][None, :]
                + b.constants.relocate)

    def available(self, origin: NDArray[np.intp]) -> NDArray[np.bool_]:
        return self.reachable[origin] & (self.dest[None, :] != origin[:, None])

    def ration(self, origin: NDArray[np.intp], hw: NDArray[np.intp], rigs: F64) -> F64:
        """Fraction of the expected relocations `rigs` (G, D) that destination and route
        capacity allow today (so that the logit shares what is left, not what is wanted)."""
        mw = rigs * (self.world.hw_power_w[hw] / 1e6)[:, None]
        factor = np.broadcast_to(kernels.ration(mw.sum(axis=0), self.bookable_mw),
                                 rigs.shape).copy()
        if np.isfinite(self.route_left).any():
            route_demand = np.zeros(len(self.route_left))
            for o in np.unique(origin):
                for d in range(len(self.dest)):
                    route_demand[self._path(o, d)] += rigs[origin == o, d].sum()
            by_route = kernels.ration(route_demand, self.route_left)
            for o in np.unique(origin):
                for d in range(len(self.dest)):
                    path = self._path(o, d)
                    if path:
                        factor[origin == o, d] *= by_route[path].min()
        return factor

    def _path(self, origin: int, d: int) -> list[int]:
        return self.world.geo.path_routes[int(origin)][int(self.dest[d])]

    def book(self, origin: NDArray[np.intp], hw: NDArray[np.intp], alloc: NDArray[np.int64]
             ) -> NDArray[np.int64]:
        """Trim drawn relocations `alloc` (n, D) to what capacity really holds, rows taken
        in a random order; book what is kept. The rest wait and decide again."""
        alloc = alloc.copy()
        order = self.world.streams["decisions"].permutation(len(origin))
        mw_per_rig = self.world.hw_power_w[hw] / 1e6
        for d in np.flatnonzero(alloc.sum(axis=0)):
            for o in np.unique(origin[alloc[:, d] > 0]):
                sel = order[(origin[order] == o) & (alloc[order, d] > 0)]
                take = kernels.admit_fifo(alloc[sel, d], mw_per_rig[sel],
                                          float(self.bookable_mw[d]))
                path = self._path(int(o), int(d))
                if path:
                    rigs_left = float(self.route_left[path].min())
                    take = kernels.admit_fifo(take, np.ones(len(sel)), rigs_left)
                    self.route_left[path] -= take.sum()
                alloc[sel, d] = take
                self.bookable_mw[d] -= float(np.dot(take, mw_per_rig[sel]))
        return alloc


def ship(world: World, rows: Rows, dest: int, extra_days: int = 0) -> None:
    """Send whole `rows` from their region to `dest`: in transit, arriving after a draw from
    the path's transit-time distribution (per rig: rows are split by arrival day)."""
    fleet = world.fleet
    if len(rows) == 0:
        return
    origin = fleet.region[rows].copy()
    count = fleet.count[rows].copy()
    hashrate = count * world.hw_hashrate_hs[fleet.hw[rows]]
    np.add.at(world.flow_departed, (origin, np.full_like(origin, dest)), count)
    np.add.at(world.flow_hashrate, (origin, np.full_like(origin, dest)), hashrate)
    world.relocated_total[dest] += count.sum()
    fleet.status[rows] = IN_TRANSIT
    fleet.region[rows] = dest  # in transit, a rig counts where it is going
    fleet.facility[rows] = -1  # a shipped rig leaves its facility
    fleet.t_since[rows] = world.day
    rng = world.streams["transit"]
    for o in np.unique(origin):
        sel = rows[origin == o]
        pmf = world.geo.pair_pmf[(int(o), dest)]
        if bool(np.all(fleet.count[sel] == 1)):  # single rigs: one day each, no (n, J) matrix
            days = rng.choice(len(pmf), size=len(sel), p=pmf)
            _schedule_arrivals(world, int(o), dest, world.day + extra_days,
                               np.bincount(days, minlength=len(pmf)))
            fleet.t_due[sel] = world.day + extra_days + days
            continue
        by_day = rng.multinomial(fleet.count[sel], pmf)  # (n, J)
        _schedule_arrivals(world, int(o), dest, world.day + extra_days, by_day.sum(axis=0))
        r_idx, j = np.nonzero(by_day)
        new = fleet.split(sel[r_idx], by_day[r_idx, j])
        fleet.t_due[new] = world.day + extra_days + j


def _schedule_arrivals(world: World, origin: int, dest: int, first_day: int,
                       rigs_by_offset: NDArray[np.int64]) -> None:
    """Note the rigs arriving `first_day + j` days (j = offset) from `origin` at `dest`."""
    days = world.scenario.num_days
    due = world.arrivals.get((origin, dest))
    if due is None:
        due = world.arrivals[(origin, dest)] = np.zeros(days)
    span = min(len(rigs_by_offset), max(days - first_day, 0))
    due[first_day:first_day + span] += rigs_by_offset[:span]


def _leave(world: World, reloc: Relocation, rows: Rows, counts: NDArray[np.int64],
           origin: NDArray[np.intp], probs: F64, extra_days: int = 0) -> None:
    """Ship `counts` rigs of `rows` to destinations drawn from `probs` (n, D), as far as
    capacity allows (the rest stay)."""
    alloc = kernels.allocate(world.streams["decisions"], counts, probs)
    alloc = reloc.book(origin, world.fleet.hw[rows], alloc)
    for d in np.flatnonzero(alloc.sum(axis=0)):
        out = world.fleet.split(rows, alloc[:, d])
        ship(world, out, int(reloc.dest[d]), extra_days)


def exits(world: World, reloc: Relocation) -> None:
    """After an announcement, a share of online rigs leaves pre-emptively each day."""
    rng = world.streams["departures"]
    for r in np.flatnonzero(world.exit_rate_per_day > 0):
        fleet = world.fleet
        rows = np.flatnonzero((fleet.status == ONLINE) & (fleet.region == r))
        moving = kernels.thin(rng, fleet.count[rows], float(world.exit_rate_per_day[r]))
        rows, moving = rows[moving > 0], moving[moving > 0]
        if len(rows) == 0:
            continue
        origin, hw = fleet.region[rows], fleet.hw[rows]
        probs = kernels.softmax(reloc.utilities(origin, hw), reloc.available(origin))
        probs *= reloc.ration(origin, hw, probs * moving[:, None])
        _leave(world, reloc, rows, moving, origin, probs)


ALTERNATIVES = ("underground", "hibernate", "sell", "retire")


def decide(world: World, reloc: Relocation) -> None:
    """Forced-off rigs choose: relocate (to a destination), underground, hibernate, sell or
    retire — a multinomial logit on expected profit over the horizon, rationed by capacity."""
    fleet = world.fleet
    b = world.scenario.behaviour
    pool = np.flatnonzero((fleet.status == BANNED_OFF) & (fleet.t_due == NEVER))
    counts = kernels.thin(world.streams["decisions"], fleet.count[pool], b.decision_rate_per_day)
    rows, counts = pool[counts > 0], counts[counts > 0]
    if len(rows) == 0:
        return
    origin, hw = fleet.region[rows], fleet.hw[rows]
    n_dest = len(reloc.dest)
    u_reloc = reloc.utilities(origin, hw)
    avail_reloc = reloc.available(origin)
    u, avail = _other_utilities(world, reloc, origin, hw, np.any(avail_reloc, axis=1))
    probs = kernels.softmax(np.concatenate([u_reloc, u], axis=1),
                            np.concatenate([avail_reloc, avail], axis=1))
    # The buyer of a sold rig takes it where relocating miners would go.
    buyer = kernels.softmax(u_reloc, avail_reloc)
    sell = n_dest + ALTERNATIVES.index("sell")
    wanted = (probs[:, :n_dest] + probs[:, [sell]] * buyer) * counts[:, None]
    factor = reloc.ration(origin, hw, wanted)
    probs[:, :n_dest] *= factor
    buyer_ok = (buyer * factor).sum(axis=1)
    buyer = np.divide(buyer * factor, buyer_ok[:, None], out=np.zeros_like(buyer),
                      where=buyer_ok[:, None] > 0)
    probs[:, sell] *= buyer_ok
    alloc = kernels.allocate(world.streams["decisions"], counts, probs)
    alloc[:, :n_dest] = reloc.book(origin, hw, alloc[:, :n_dest])
    # Rigs not allocated wait (stay banned_off) and decide again on a later day.
    _apply_choices(world, reloc, rows, alloc, origin, buyer)


def _other_utilities(world: World, reloc: Relocation, origin: NDArray[np.intp],
                     hw: NDArray[np.intp], can_move: NDArray[np.bool_]
                     ) -> tuple[F64, NDArray[np.bool_]]:
    b = world.scenario.behaviour
    scale = b.profit_scale_usd
    hazard = world.underground_hazard_per_day[origin]
    ug_ok = ~np.isnan(hazard)
    days = kernels.expected_mining_days(np.nan_to_num(hazard), b.horizon_days)
    u_under = (days * reloc.econ.margin_rk[origin, hw] / scale
               - b.risk_aversion * world.risk[origin] + b.constants.underground)
    u_hib = np.full(len(origin), b.constants.hibernate)
    u_sell = (b.resale_fraction * world.hw_price_usd[hw] / scale + b.constants.sell)
    u_retire = np.full(len(origin), b.scrap_usd / scale + b.constants.retire)
    u = np.stack([u_under, u_hib, u_sell, u_retire], axis=1)
    avail = np.stack([ug_ok, np.ones_like(ug_ok), can_move, np.ones_like(ug_ok)], axis=1)
    return u, avail


def _apply_choices(world: World, reloc: Relocation, rows: Rows, alloc: NDArray[np.int64],
                   origin: NDArray[np.intp], buyer: F64) -> None:
    b = world.scenario.behaviour
    n_dest = len(reloc.dest)
    for d in np.flatnonzero(alloc[:, :n_dest].sum(axis=0)):
        ship(world, world.fleet.split(rows, alloc[:, d]), int(reloc.dest[d]))
    col = {name: n_dest + i for i, name in enumerate(ALTERNATIVES)}
    out = world.fleet.split(rows, alloc[:, col["underground"]])
    world.fleet.status[out] = UNDERGROUND
    out = world.fleet.split(rows, alloc[:, col["hibernate"]])
    world.fleet.t_due[out] = world.day + int(np.ceil(b.hibernate_days))
    out = world.fleet.split(rows, alloc[:, col["retire"]])
    world.fleet.status[out] = RETIRED
    sold = alloc[:, col["sell"]]
    if sold.any():
        keep = sold > 0
        _leave(world, reloc, rows[keep], sold[keep], origin[keep], buyer[keep],
               extra_days=int(np.ceil(b.sell_delay_days)))


def purchase(world: World) -> None:
    """Scheduled purchases: new rigs queue for capacity in their region."""
    sc = world.scenario
    hw_idx = {h.name: i for i, h in enumerate(sc.hardware)}
    pool_idx = {p.name: i for i, p in enumerate(sc.pools)}
    reg = world.geo.index
    for spec in sc.purchases:
        rigs = purchase_rigs_on(spec, world.day, sc.start)
        if rigs == 0:
            continue
        first = world.fleet.size
        for pool, n in pool_split(spec.pool, pool_idx, rigs):
            add_rigs(world.fleet, n, sc.resolution,
                     tiers=bool(world.geo.electricity_spread_usd_per_kwh[reg(spec.region)] > 0),
                     status=QUEUED, region=reg(spec.region),
                     pool=pool, hw=hw_idx[spec.hardware], t_since=world.day)
        ensure_served(world, np.arange(first, world.fleet.size, dtype=np.intp))


def daily_step(world: World) -> Economics:
    """One day of the fleet (the chain and the recorder follow in the engine)."""
    resolve_timers(world)
    admit_queued(world)
    econ = economics(world, mining_hashrate(world))
    switch(world, econ)
    enforce(world)
    fleet = world.fleet
    if (world.exit_rate_per_day > 0).any() or (
            (fleet.status == BANNED_OFF) & (fleet.t_due == NEVER)).any():
        reloc = Relocation(world, econ)
        exits(world, reloc)
        decide(world, reloc)
    purchase(world)
    return econ
