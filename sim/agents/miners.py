"""The fleet's behaviour, vectorised over rig rows: the daily step.

Within a day the order is explicit: timers (arrivals, ends of hibernation and suspension) →
queue admission → economics → switching on/off → waiting after announcements → enforcement →
pre-emptive exits → decisions of forced-off rigs → the day's shipments → purchases. The chain
and the recorder follow (sim/engine.py). No Python loop runs over rigs: loops run over a copy's
regions, destinations or routes, over the day's (cohort, destination) bookings, and — for the
draws only — over the copies of a batch world (sim/batch.py).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim import compiled, kernels, rowsearch
from sim.agents.facilities import admit_queued, occupancy_mw
from sim.agents.pools import ensure_served
from sim.agents.suspensions import wait_and_see
from sim.chain import subsidy_sum
from sim.cohorts import Cohorts, cohorts_in, cohorts_of, populated, ranges
from sim.state import (
    BANNED_OFF,
    HIBERNATING,
    IN_TRANSIT,
    NEVER,
    OFFLINE,
    ONLINE,
    QUEUED,
    RETIRED,
    SUSPENDED,
    UNDERGROUND,
    keys_of,
)
from sim.world import (
    CHOICES,
    TIER_OFFSETS,
    World,
    new_rows,
    pool_split,
    purchase_rigs_on,
)

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
    return subsidy_sum(chain.coin, chain.height + 1, 1) + chain.fees_on(world.day)


def mining_hashrate(world: World) -> F64:
    """Hashrate of rigs online or underground, per coin (C,)."""
    fleet = world.fleet
    tally = fleet.tally
    # rigs per hardware model first (exact integers), then hashes: merging rows never
    # changes the sum in its last bit
    rigs = kernels.bincount(fleet.group("hw"), tally[:, ONLINE] + tally[:, UNDERGROUND],
                            len(world.hw_coin))
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


def cost_usd_per_day(world: World, econ: Economics, region: NDArray[np.integer],
                     hw: NDArray[np.integer], facility: NDArray[np.integer],
                     tier: NDArray[np.integer]) -> F64:
    """Daily cost of one rig with these attributes (arrays of rows or of groups): power at
    the region's, its price tier's or its facility's price, plus the hosting fee in a hosting
    facility."""
    cost = econ.cost_rk[region, hw]
    spread = world.geo.electricity_spread_usd_per_kwh
    if spread.any():  # each site's price: the region's mean ± its tier's share of the spread
        price = (world.electricity_usd_per_kwh()[region]
                 + spread[region] * TIER_OFFSETS[tier])
        cost = kernels.power_cost_usd_per_day(world.hw_power_w[hw], np.maximum(price, 0.0))
    in_fac = np.flatnonzero(facility >= 0)
    if len(in_fac):
        f = facility[in_fac]
        kwh = world.hw_power_w[hw[in_fac]] * 24.0 / 1000.0
        price = world.fac_power_usd_per_kwh[f]
        grid = np.isnan(price)  # (a facility without its own price pays the region's)
        if grid.any():
            price = np.where(grid, world.electricity_usd_per_kwh()[region[in_fac]], price)
        cost[in_fac] = kwh * (price + np.where(world.fac_hosting[f],
                                               world.fac_fee_usd_per_kwh[f], 0.0))
    return cost


def row_cost_usd_per_day(world: World, econ: Economics) -> F64:
    """Daily cost of one rig of each fleet row, shape (n,)."""
    f = world.fleet
    return cost_usd_per_day(world, econ, f.region, f.hw, f.facility, f.tier)


def group_cost_usd_per_day(world: World, econ: Economics) -> F64:
    """Daily cost of one rig of each group of the fleet's tally, shape (G,)."""
    g = world.fleet.group
    return cost_usd_per_day(world, econ, g("region"), g("hw"), g("facility"), g("tier"))


def net_share(world: World) -> F64:
    """The share of its rewards that a rig of each group of the tally earns: less its pool's
    fee and its region's exchange-ban haircut (G,). Switching and a facility's books read
    it, so that the two never count a rig's earnings apart."""
    g = world.fleet.group
    return (1.0 - world.pool_fee[g("pool")]) * (1.0 - world.haircut[g("region")])


def switch(world: World, econ: Economics) -> None:
    """Online rigs switch off below `switch_off_margin`, offline ones on above
    `switch_on_margin` (relative margin (revenue − cost) / cost): a hysteresis band.

    The margin depends only on a rig's group (region, pool, hardware, facility, tier), so it
    is computed per group; rows are touched only where a group switches."""
    fleet = world.fleet
    b = world.scenario.behaviour
    g = fleet.group
    region = g("region")
    revenue = econ.revenue_k[g("hw")] * net_share(world)
    cost = group_cost_usd_per_day(world, econ)
    rel = (revenue - cost) / np.maximum(cost, 1e-12)
    # An outage switches rigs off (they wait); a cut-off is enforcement's (they are forced off).
    outage = world.outage[region]
    off = (rel < b.switch_off_margin) | outage
    on = (rel > b.switch_on_margin) & ~outage & ~world.cutoff[region]
    tally = fleet.tally
    going_off = keys_of(np.flatnonzero(off & (tally[:, ONLINE] > 0)), ONLINE)
    going_on = keys_of(np.flatnonzero(on & (tally[:, OFFLINE] > 0)), OFFLINE)
    fleet.move(going_off, OFFLINE, t_since=world.day)
    fleet.move(going_on, ONLINE, t_since=world.day)


def resolve_timers(world: World) -> None:
    """Shipments that arrive today queue at their destination; hibernations and suspensions
    end (suspended rigs then switch on by the margin like any offline rig)."""
    for (coin, origin, dest), by_day in world.arrivals.items():  # of every copy at once
        world.flow_arrived[:, coin, origin, dest] += by_day[:, world.day]
    fleet = world.fleet
    tally = fleet.tally
    if not (tally[:, IN_TRANSIT].any() or tally[:, HIBERNATING].any()
            or tally[:, SUSPENDED].any()):
        return
    due = fleet.rows_due(world.day)
    status = fleet.status[due]
    arriving = due[status == IN_TRANSIT]
    waking = due[(status == BANNED_OFF) | (status == OFFLINE)]  # hibernation, suspension end
    if len(arriving):
        fleet.set(arriving, status=QUEUED, t_since=world.day, t_due=NEVER)
        ensure_served(world, arriving)
    world.fleet.set(waking, t_due=NEVER)


#: Sub-statuses a ban's enforcement hits (underground rigs are found by detection).
EXPOSED = (ONLINE, OFFLINE, SUSPENDED, QUEUED)


def come_back(world: World) -> None:
    """Where no ban is in force (one has been lifted), underground rigs surface and
    forced-off or hibernating rigs whose pool serves the region queue for capacity again —
    before the day's admission, so that a lift takes effect on its own day. Surfacing rigs
    queue too: underground they held no capacity, which others may have taken since."""
    fleet = world.fleet
    tally = fleet.tally
    if not tally[:, [UNDERGROUND, BANNED_OFF, HIBERNATING]].any():  # no rig to come back
        return
    g = fleet.group
    allowed = ~world.banned()[g("region")]
    surfacing = keys_of(np.flatnonzero(allowed & (tally[:, UNDERGROUND] > 0)), UNDERGROUND)
    served = allowed & world.pool_open[g("pool")] & world.pool_serves[g("pool"), g("region")]
    back = np.concatenate([surfacing, *(keys_of(np.flatnonzero(served & (tally[:, s] > 0)), s)
                                        for s in (BANNED_OFF, HIBERNATING))])
    fleet.move(back, QUEUED, t_since=world.day)


def enforce(world: World) -> None:
    """Bans force rigs off (cut-offs all at once); underground rigs are detected."""
    # Only regions with rigs to hit (an empty one would draw nothing anyway): on a day with no
    # ban or cut-off in force anywhere, or no rig in hiding, that half is skipped whole.
    targets: list[tuple[NDArray[np.intp], tuple[int, ...], F64]] = []
    if world.may_ban():
        p_ban = world.ban_probability()
        targets.append((populated(world, np.flatnonzero(p_ban > 0), EXPOSED), EXPOSED, p_ban))
    if world.fleet.tally[:, UNDERGROUND].any():
        _, p_detect = world.detection()
        targets.append((populated(world, np.flatnonzero(p_detect > 0), (UNDERGROUND,)),
                        (UNDERGROUND,), p_detect))
    if not any(len(regions) for regions, _, _ in targets):
        return
    rng = world.streams["enforcement"]
    # every region at once (one search, one draw); the rigs exposed and the underground ones
    # are fixed before either is hit
    exposed = [(cohorts_in(world, regions, subs, rng), p) for regions, subs, p in targets]
    for group, p in exposed:
        if len(group):
            def hit(gen: np.random.Generator, w: Any, n: NDArray[np.int64] = group.counts,
                    p: F64 = p[group.origin]) -> NDArray[np.int64]:
                return gen.binomial(n[w], p[w])

            hits = world.draw("enforcement", world.region_copy(group.origin), hit)
            out = group.take(hits.astype(np.int64))
            world.fleet.set(out, status=BANNED_OFF, t_since=world.day, t_due=NEVER)


class Relocation:
    """Where relocating rigs can go today, and how much of each destination is left.

    Destinations are columns of the regions of one copy (`dest`, a batch world's copies have
    the same regions, sim/batch.py): a cohort's column j is region `dest[j]` of its own copy.
    """

    def __init__(self, world: World, econ: Economics) -> None:
        self.world = world
        b = world.scenario.behaviour
        # (copies, R): the copies' regions side by side
        self.allowed = (world.targets() & ~world.banned()).reshape(world.copies, -1)
        self.dest = np.flatnonzero(self.allowed.any(axis=0))  # (D,) regions of a copy
        general_used, fac_used = occupancy_mw(world)
        horizon = world.day + int(b.capacity_lookahead_days)
        hosts = world.fac_region[world.fac_hosting]
        # a hosting site's capacity as it will be at the horizon too, like the regions'
        hosting = kernels.bincount(hosts, world.facility_capacity_on(horizon)[world.fac_hosting],
                                   world.num_regions)
        host_used = kernels.bincount(hosts, fac_used[world.fac_hosting], world.num_regions)
        bookable = world.capacity_on(horizon) - general_used + hosting - host_used
        bookable -= self._committed_mw()
        # (copies, D), a view of the flat copy that book() draws down
        self._bookable = bookable.reshape(world.copies, -1)[:, self.dest].ravel()
        self.bookable_mw = self._bookable.reshape(world.copies, len(self.dest))
        # whole rigs a route carries today, as purchases deliver (0.5 a day: every other day)
        self.route_left = world.route_rigs_on(world.day)
        self.limited_routes = world.route_rates()[1].size > 0
        self.econ = econ
        # per origin region of a copy (R_copy, D): mining days within the horizon after the
        # journey, its cost (0 where unreachable), and whether rigs can go there (a route, and
        # not where they are)
        days, cost, reach = world.journeys()
        self.days_to, self.cost_to = days[:, self.dest], cost[:, self.dest]
        self.reach_to = reach[:, self.dest]
        self.allowed_to = self.allowed[:, self.dest]  # (copies, D)
        # the day's shipments (rows, destination, extra days), sent together by ship_all
        self.shipments: list[tuple[Rows, NDArray[np.intp], NDArray[np.int64]]] = []

    def _local(self, origin: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(copy, region within the copy) of regions `origin`."""
        return self.world.region_copy(origin), origin % self.world.region_block

    def send(self, movers: Cohorts, alloc: NDArray[np.int64], extra_days: int = 0) -> None:
        """Name the rows of `alloc[i, d]` rigs of (narrowed) cohort i bound for destination d;
        they leave with the day's other shipments (:meth:`ship_all`)."""
        first = self.world.region_copy(movers.origin) * self.world.region_block
        for d in alloc.sum(axis=0).nonzero()[0].tolist():
            moving = alloc[:, d]
            going = moving > 0
            rows = movers.take(moving)
            region = first[going] + self.dest[d]
            self.shipments.append((rows, np.repeat(region, _rows_per_cohort(movers, moving,
                                                                           rows)),
                                   np.full(len(rows), extra_days, dtype=np.int64)))

    def ship_all(self) -> None:
        """Ship the day's shipments: one draw of transit times and one write per destination.
        (Rows named for shipment keep their status until then; nothing between reads it.)"""
        if self.shipments:
            rows, dest, extra = (np.concatenate(a) for a in zip(*self.shipments, strict=True))
            self.shipments = []
            ship(self.world, rows, dest, extra)

    def _committed_mw(self) -> F64:
        fleet = self.world.fleet
        moving = fleet.tally[:, IN_TRANSIT] + fleet.tally[:, QUEUED]
        mw = moving * self.world.hw_power_w[fleet.group("hw")] / 1e6
        return kernels.bincount(fleet.group("region"), mw, self.world.num_regions)

    def utilities(self, origin: NDArray[np.intp], hw: NDArray[np.intp]) -> F64:
        """Utility of relocating to each destination for groups (origin, hw), shape (G, D)."""
        world, b = self.world, self.world.scenario.behaviour
        copy, here = self._local(origin)
        there = (copy * world.region_block)[:, None] + self.dest  # (G, D) in its copy
        margin, risk = self.econ.margin_rk[there, hw[:, None]], world.risk[there]
        profit = self.days_to[here] * margin - self.cost_to[here]
        return profit / b.profit_scale_usd - b.risk_aversion * risk + b.constants.relocate

    def available(self, origin: NDArray[np.intp]) -> NDArray[np.bool_]:
        copy, here = self._local(origin)
        return self.reach_to[here] & self.allowed_to[copy]

    def ration(self, origin: NDArray[np.intp], hw: NDArray[np.intp], rigs: F64) -> F64:
        """Fraction of the expected relocations `rigs` (G, D) that destination and route
        capacity allow today (so that the logit shares what is left, not what is wanted)."""
        world = self.world
        num_d = len(self.dest)
        copy = world.region_copy(origin)
        rows, cols = rigs.nonzero()  # sums in a fixed order: row by row, per column
        wanted = rigs[rows, cols]
        mw = wanted * (world.hw_power_w[hw[rows]] / 1e6)
        demand = kernels.bincount(copy[rows] * num_d + cols, mw, world.copies * num_d)
        factor = kernels.ration(demand, self._bookable).reshape(world.copies, num_d)[copy]
        if self.limited_routes and len(rows):
            tmpl = world.template_geo()
            # rigs by (origin, destination) pair, then by route on the pairs' paths
            pairs, inverse = kernels.unique(origin[rows] * num_d + cols, world.num_regions * num_d)
            by_pair = kernels.bincount(inverse, wanted, len(pairs))
            pair_copy, pair_here = self._local(pairs // num_d)
            path = pair_here * tmpl.num_regions + self.dest[pairs % num_d]
            lengths = tmpl.path_length[path]
            on = np.repeat(np.arange(len(pairs)), lengths)
            route = (tmpl.path_route[ranges(tmpl.path_start[path], lengths)]
                     + pair_copy[on] * tmpl.num_routes)
            by_route = kernels.ration(kernels.bincount(route, by_pair[on], len(self.route_left)),
                                      self.route_left)
            scarcest = np.ones(len(pairs))  # each pair: its path's scarcest route
            np.minimum.at(scarcest, on, by_route[route])
            factor[rows, cols] *= scarcest[inverse]
        return factor

    def book(self, origin: NDArray[np.intp], hw: NDArray[np.intp], alloc: NDArray[np.int64]
             ) -> NDArray[np.int64]:
        """Trim drawn relocations `alloc` (n, D) to what capacity really holds, rows taken
        in a random order; book what is kept. The rest wait and decide again."""
        alloc = alloc.copy()
        world = self.world
        copy, here = self._local(origin)  # each copy's cohorts in its own random order
        rank = world.draw("decisions", copy,
                          lambda gen, w: np.argsort(gen.permutation(len(origin[w]))))
        order = np.lexsort((rank, copy))
        # the (cohort, destination) pairs with rigs drawn, destinations in turn and cohorts in
        # the drawn order (the transpose's nonzero runs column by column)
        dest, ranked = alloc[order].T.nonzero()
        if len(dest) == 0:
            return alloc
        # one loop over them: each takes what its destination's MW and its path's routes
        # still hold (whole rigs)
        tmpl = world.template_geo()
        cohort = order[ranked]
        at = copy[cohort]
        alloc[cohort, dest] = compiled.book_in_turn(
            _ints(dest), _ints(at * len(self.dest) + dest), _ints(alloc[cohort, dest]),
            (world.hw_power_w[hw] / 1e6)[cohort], _ints(here[cohort]), _ints(self.dest),
            _ints(at * tmpl.num_routes), self._bookable, self.route_left, tmpl,
            large=world.fleet.size > rowsearch.LARGE)
        return alloc


def _ints(a: NDArray[np.integer]) -> NDArray[np.int64]:
    """`a` as the compiled booking loop takes it."""
    # its one signature: contiguous int64 (nonzero's are strided views, which numba would
    # compile a loop of their own for)
    return np.ascontiguousarray(a, dtype=np.int64)


#: Single rigs' arrival days are found at once (a rigs × longest-transit table) up to this
#: many cells, pair by pair beyond.
ARRIVAL_TABLE_CELLS = 1 << 16


def _rows_per_cohort(movers: Cohorts, moving: NDArray[np.int64], rows: Rows
                     ) -> NDArray[np.int64]:
    """How many of the `rows` a take of `moving` gave each cohort with rigs moving (in
    cohort order): one row each in cohort resolution, the rigs themselves in rig resolution."""
    going = moving[moving > 0]
    return np.ones(len(going), dtype=np.int64) if movers.rows is not None else going


def _per_row(value: int | NDArray[np.integer], n: int, dtype: type) -> NDArray[Any]:
    """`value` for each of `n` rows: one number repeated, or the rows' own."""
    out: NDArray[Any] = np.asarray(value, dtype=dtype)
    return out if out.shape == (n,) else np.full(n, out, dtype=dtype)


def ship(world: World, rows: Rows, dest: int | NDArray[np.intp],
         extra_days: int | NDArray[np.int64] = 0) -> None:
    """Send whole `rows` from their region to `dest` (one region, or one per row), leaving
    `extra_days` from today (one number, or one per row): in transit, arriving after a draw
    from the path's transit-time distribution (per rig: rows are split by arrival day). One
    draw per call, whatever the destinations."""
    fleet = world.fleet
    if len(rows) == 0:
        return
    dest = _per_row(dest, len(rows), np.intp)
    group = fleet.group_of(rows)
    origin, hw = fleet.group("region")[group], fleet.group("hw")[group]
    count = fleet.rigs_of(rows)
    coin = world.hw_coin[hw]
    # rigs are whole numbers (any order of sums is exact); hashrate is summed row by row
    at = world.flow_at(coin, origin, dest)
    kernels.add_at(world.flow_departed, at, count)
    kernels.add_at(world.flow_hashrate, at, count * world.hw_hashrate_hs[hw])  # (zero: a day's)
    kernels.add_at(world.relocated_total, dest, count)
    # the transit-time distribution of each row's (origin, destination) pair, by the pair's
    # regions within their copy (a batch world's copies share them, sim/batch.py)
    num_r = world.region_block
    copy, coin_in, here, there = at  # (the copy's own coin and regions)
    code = here * num_r + there  # each row's pair, within its copy
    law, cdf, last_day = world.transit_tables()
    first = world.day + _per_row(extra_days, len(rows), np.int64)

    def arrival_days(u: F64, of: NDArray[np.intp]) -> NDArray[np.int64]:
        """Single rigs: the day each arrives, from its uniform `u` (inverse CDF of its pair
        `of`: the days whose CDF is at most `u`, as searchsorted(side='right') counts them)."""
        if len(u) * cdf.shape[1] <= ARRIVAL_TABLE_CELLS:  # a few rigs: all at once
            return np.minimum((cdf[of] <= u[:, None]).sum(axis=1), last_day[of])
        j = np.zeros(len(u), dtype=np.int64)
        pairs, of_pair = kernels.unique(of, len(cdf))
        order, bounds = kernels.group_order(of_pair, len(pairs))  # each pair's rigs together
        for k, c in enumerate(pairs.tolist()):
            at = order[bounds[k]:bounds[k + 1]]
            j[at] = np.minimum(np.searchsorted(cdf[c, :last_day[c] + 1], u[at], side="right"),
                               last_day[c])
        return j

    if fleet.single:  # single rigs: one day each, no (n, J) matrix
        u = world.draw("transit", copy, lambda gen, w: gen.random(len(origin[w])))
        moved, j, rigs = rows, arrival_days(u, code), count
    else:
        # every multinomial over the same days (the longest law's): numpy draws a binomial for
        # each day but the last, so a shorter or longer row would use other random numbers
        pvals, last, single = law[code], last_day[code], count == 1
        # each copy's rows at once, kept sparse: (row, day, rigs) where rigs arrive (a dense
        # (rows, days) matrix of every copy would be rows × the longest transit in memory)
        parts = []
        for gen, w in world.each("transit", copy):
            which = np.arange(len(rows))[w]
            if bool(single[w].all()):  # rows of one rig: one day each, as in rig resolution
                day = arrival_days(gen.random(len(which)), code[w])
                parts.append((which, day, np.ones(len(which), np.int64)))
                continue
            by_day = gen.multinomial(count[w], pvals[w])  # (n, J)
            # a rounding remainder lands in the last column: it belongs to the pair's last day
            extra = by_day[:, -1].copy()
            by_day[:, -1] = 0
            by_day[np.arange(len(by_day)), last[w]] += extra
            row, day = np.nonzero(by_day)
            parts.append((which[row], day, by_day[row, day]))
        r_idx, j, rigs = (np.concatenate(a) for a in zip(*parts, strict=True))
        order = np.argsort(r_idx, kind="stable")  # by row, each row's days in order
        r_idx, j, rigs = r_idx[order], j[order], rigs[order]
        moved = fleet.split(rows[r_idx], rigs)
        code, coin_in, dest, first, copy = (code[r_idx], coin_in[r_idx], dest[r_idx],
                                            first[r_idx], copy[r_idx])
    due = first + j
    # arrivals by (coin, pair) and day, for flows.csv (those after the last day are not seen)
    days = world.scenario.num_days
    seen_on = np.minimum(due, days)
    num_pairs = num_r * num_r
    combo_id, combo = kernels.unique(coin_in * num_pairs + code, world.coin_block * num_pairs)
    if len(combo_id) == 1:  # (most days: all in one, no grouping)
        of_combo: list[Any] = [slice(None)]
    else:
        order, bounds = kernels.group_order(combo, len(combo_id))
        of_combo = [order[lo:hi] for lo, hi in itertools.pairwise(bounds.tolist())]
    for cid, mine in zip(combo_id.tolist(), of_combo, strict=True):  # (mine: in the rows' order)
        c, (o, d) = cid // num_pairs, divmod(cid % num_pairs, num_r)
        pending = world.arrivals.get((c, o, d))
        if pending is None:
            pending = world.arrivals[(c, o, d)] = np.zeros((world.copies, days + 1))
        kernels.add_at(pending, (copy[mine], seen_on[mine]), rigs[mine])
    # in transit, a rig counts where it is going; a shipped rig leaves its facility
    fleet.set(moved, status=IN_TRANSIT, region=dest, facility=-1, t_since=world.day, t_due=due)


def _count(world: World, choice: str, cohorts: Cohorts, rigs: NDArray[np.int64]) -> None:
    """Count `rigs` of each of `cohorts` as having chosen `choice` today (decisions.csv)."""
    going = rigs.nonzero()[0]
    if len(going):
        origin = cohorts.origin[going]
        copy, coin, here, _ = world.flow_at(world.hw_coin[cohorts.hw[going]], origin, origin)
        kernels.add_at(world.decided, (copy, coin, here, CHOICES.index(choice)), rigs[going])


def _leave(world: World, reloc: Relocation, movers: Cohorts, counts: NDArray[np.int64],
           probs: F64, extra_days: int = 0) -> None:
    """Send `counts` rigs of `movers` to destinations drawn from `probs` (n, D), as far as
    capacity allows (the rest stay); they leave with the day's shipments."""
    alloc = world.allocate("decisions", world.region_copy(movers.origin), counts, probs)
    alloc = reloc.book(movers.origin, movers.hw, alloc)
    leaving = alloc.sum(axis=1)
    _count(world, "leave_early", movers, leaving)
    reloc.send(movers.narrow(leaving), alloc, extra_days)


def exits(world: World, reloc: Relocation) -> None:
    """After an announcement, a share of online rigs leaves pre-emptively each day."""
    rng = world.streams["departures"]
    # every region at once: one draw, rationed and booked together (no region goes first);
    # cohorts_in skips the regions without online rigs (no draw is made for them)
    online = cohorts_in(world, (world.exit_rate_per_day > 0).nonzero()[0], (ONLINE,), rng)
    if len(online) == 0:
        return
    rate = world.exit_rate_per_day[online.origin]
    movers = online.with_counts(world.draw(
        "departures", world.region_copy(online.origin),
        lambda gen, w: gen.binomial(online.counts[w], rate[w])).astype(np.int64))
    if len(movers) == 0:
        return
    origin, hw = movers.origin, movers.hw
    probs = kernels.softmax(reloc.utilities(origin, hw), reloc.available(origin))
    probs *= reloc.ration(origin, hw, probs * movers.counts[:, None])
    _leave(world, reloc, movers, movers.counts, probs)


ALTERNATIVES = ("underground", "hibernate", "sell", "retire")


def decide(world: World, reloc: Relocation) -> None:
    """Forced-off rigs choose: relocate (to a destination), underground, hibernate, sell or
    retire — a multinomial logit on expected profit over the horizon, rationed by capacity."""
    fleet = world.fleet
    b = world.scenario.behaviour
    rng = world.streams["decisions"]
    waiting = cohorts_of(world, keys_of(np.arange(fleet.num_groups), BANNED_OFF), rng)
    if len(waiting) == 0:  # (most days before a ban: the draw would draw nothing)
        return
    deciders = waiting.with_counts(world.draw(
        "decisions", world.region_copy(waiting.origin),
        lambda gen, w: kernels.thin(gen, waiting.counts[w], b.decision_rate_per_day)))
    if len(deciders) == 0:
        return
    origin, hw, counts = deciders.origin, deciders.hw, deciders.counts
    n_dest = len(reloc.dest)
    u_reloc = reloc.utilities(origin, hw)
    avail_reloc = reloc.available(origin)
    u, avail = _other_utilities(world, reloc, origin, hw, deciders.pool,
                                np.any(avail_reloc, axis=1))
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
    alloc = world.allocate("decisions", world.region_copy(origin), counts, probs)
    alloc[:, :n_dest] = reloc.book(origin, hw, alloc[:, :n_dest])
    # Rigs not allocated wait (stay banned_off) and decide again on a later day.
    _apply_choices(world, reloc, deciders, alloc, buyer)


def _other_utilities(world: World, reloc: Relocation, origin: NDArray[np.intp],
                     hw: NDArray[np.intp], pool: NDArray[np.intp], can_move: NDArray[np.bool_]
                     ) -> tuple[F64, NDArray[np.bool_]]:
    b = world.scenario.behaviour
    scale = b.profit_scale_usd
    hazard = world.underground_hazard_per_day[origin]
    # hidden mining needs a pool still running: a rig left without one (its pool shut down
    # and none other takes its region) cannot mine in hiding
    ug_ok = ~np.isnan(hazard) & world.pool_open[pool]
    days = kernels.expected_mining_days(world.detection()[0][origin], b.horizon_days)
    u_under = (days * reloc.econ.margin_rk[origin, hw] / scale
               - b.risk_aversion * world.risk[origin] + b.constants.underground)
    u_hib = hibernate_utility(world, reloc.econ, origin, hw)
    u_sell = (b.resale_fraction * world.hw_price_usd[hw] / scale + b.constants.sell)
    u_retire = np.full(len(origin), b.scrap_usd / scale + b.constants.retire)
    # (columns of a new array: np.stack costs several times as much on a few rows)
    u = np.empty((len(origin), len(ALTERNATIVES)))
    u[:, 0], u[:, 1], u[:, 2], u[:, 3] = u_under, u_hib, u_sell, u_retire
    avail = np.ones((len(origin), len(ALTERNATIVES)), dtype=bool)
    avail[:, 0], avail[:, 2] = ug_ok, can_move
    return u, avail


def hibernate_utility(world: World, econ: Economics, origin: NDArray[np.intp],
                      hw: NDArray[np.intp]) -> F64:
    """Utility of waiting out what forced rigs of (`origin`, `hw`) off: its constant, plus,
    where that has an announced end still ahead (`expected_days`), mining at home for what is
    left of the horizon after it, at today's margin there — never less than with no known
    end. An end gone by without a lift is no longer believed."""
    b = world.scenario.behaviour
    u = np.full(len(origin), b.constants.hibernate)
    end = world.expected_end_day[origin]
    known = (end >= world.day).nonzero()[0]  # (nan: no known end)
    if len(known):
        left = np.maximum(b.horizon_days - (end[known] - world.day), 0.0)
        margin = np.maximum(econ.margin_rk[origin[known], hw[known]], 0.0)
        u[known] += left * margin / b.profit_scale_usd
    return u


def _apply_choices(world: World, reloc: Relocation, deciders: Cohorts,
                   alloc: NDArray[np.int64], buyer: F64) -> None:
    b = world.scenario.behaviour
    n_dest = len(reloc.dest)
    fleet = world.fleet
    deciders = deciders.narrow(alloc.sum(axis=1))
    reloc.send(deciders, alloc[:, :n_dest])
    col = {name: n_dest + i for i, name in enumerate(ALTERNATIVES)}
    _count(world, "relocate", deciders, alloc[:, :n_dest].sum(axis=1))
    for name in ("underground", "hibernate", "retire"):
        _count(world, name, deciders, alloc[:, col[name]])
    # hidden mining leaves the facility (its books and capacity), as a shipped rig does
    fleet.set(deciders.take(alloc[:, col["underground"]]), status=UNDERGROUND, facility=-1)
    fleet.set(deciders.take(alloc[:, col["hibernate"]]),
              t_due=world.day + int(np.ceil(b.hibernate_days)))
    fleet.set(deciders.take(alloc[:, col["retire"]]), status=RETIRED)
    sold = alloc[:, col["sell"]]
    # buyers' destinations, booked after the owners' own relocations (drawn where rigs were
    # sold: in a batch, only for the copies that sold any)
    copy = world.region_copy(deciders.origin)
    sold_in = np.zeros(world.copies, dtype=bool)
    sold_in[copy[sold > 0]] = True
    selling = np.flatnonzero(sold_in[copy])
    if len(selling):
        origin, hw = deciders.origin[selling], deciders.hw[selling]
        bought = np.zeros((len(sold), n_dest), dtype=np.int64)
        bought[selling] = reloc.book(origin, hw, world.allocate(
            "decisions", world.region_copy(origin), sold[selling], buyer[selling]))
        reloc.send(deciders, bought, extra_days=int(np.ceil(b.sell_delay_days)))
        _count(world, "sell", deciders, bought.sum(axis=1))  # (sold where a buyer had room)


def purchase(world: World) -> None:
    """Scheduled purchases: new rigs queue for capacity in their region."""
    sc = world.scenario
    if not sc.purchases:
        return
    pool_idx, plan = world.purchase_plan()
    # the day's deliveries of every purchase, in the file's order and each one's pools' order;
    # a batch world's copies buy the same, in their own regions, pools and hardware
    copies = world.copies
    plan = plan[: len(plan) // copies]
    parts = []
    for spec, region, hw, tiers in plan:
        rigs = purchase_rigs_on(spec, world.day, sc.start)
        if rigs == 0:
            continue
        for pool, n in pool_split(spec.pool, pool_idx, rigs):
            counts, tier = new_rows(n, sc.resolution, tiers)
            parts.append((counts, tier, pool, region, hw))
    if not parts:
        return
    counts = np.concatenate([p[0] for p in parts])
    if len(counts) == 0:
        return
    sizes = [len(p[0]) for p in parts]

    def per_copy(values: list[int], block: int) -> NDArray[np.int64]:
        one = np.repeat(np.asarray(values, dtype=np.int64), sizes)
        return (one[None, :] + block * np.arange(copies)[:, None]).ravel()

    rows = world.fleet.append(
        count=np.tile(counts, copies), tier=np.tile(np.concatenate([p[1] for p in parts]), copies),
        pool=per_copy([p[2] for p in parts], len(sc.pools) // copies), status=QUEUED,
        region=per_copy([p[3] for p in parts], world.num_regions // copies),
        hw=per_copy([p[4] for p in parts], len(sc.hardware) // copies), t_since=world.day)
    ensure_served(world, rows)


def daily_step(world: World) -> Economics:
    """One day of the fleet (the chain and the recorder follow in the engine)."""
    resolve_timers(world)
    come_back(world)
    admit_queued(world)
    econ = economics(world, mining_hashrate(world))
    switch(world, econ)
    wait_and_see(world)
    enforce(world)
    if (world.exit_rate_per_day > 0).any() or world.fleet.tally[:, BANNED_OFF].any():
        reloc = Relocation(world, econ)
        exits(world, reloc)
        decide(world, reloc)
        reloc.ship_all()
    purchase(world)
    return econ
