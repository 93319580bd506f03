"""The institutions' side of a per-rig baseline: what hashsim decides on groups, not rigs.

A `Desk` reads hashsim's world once a day (prices, flags, probabilities) into plain Python for
the rules of benchmarks/baselines/rules.py, and does what a per-agent model would still do at
the level of the model: the pools' departures (from the scenario's pool events and pool bans,
as sim/agents/pools.py and regulators.py apply them), the pool-choice logit, the economics of
the day (sim.agents.miners.economics on the baseline's own hashrate), queue admission in
first-come order (sim/agents/facilities.py), the relocation logit and capacity books (hashsim's
own `Relocation`, fed with the baseline's occupancy), and the day's aggregates, which also
advance the baseline's chain. Its loops over rigs are the baseline's aggregation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from benchmarks.baselines.rules import Draws, Rig, Today, cumulative, pick
from sim import kernels
from sim.agents.miners import Economics, Relocation, economics, hibernate_utility
from sim.agents.pools import pool_utilities
from sim.scenario import PoolServiceBan, PoolShutdown, PoolStopService
from sim.state import (
    BANNED_OFF,
    NEVER,
    NUM_STATUSES,
    OFFLINE,
    ONLINE,
    QUEUED,
    UNDERGROUND,
    Fleet,
)
from sim.world import World, day_index

F64 = NDArray[np.float64]
Departure = tuple[frozenset[int], frozenset[int], float, bool]
FIT = 1e-9  # kernels.admit_fifo: a rig fits if it overshoots by less than 1e-9 of itself


def fits(free: float, mw: float) -> bool:
    """Whether one more rig of `mw` fits into `free` (kernels.admit_fifo for one rig)."""
    return max(free, 0.0) / mw + FIT >= 1.0


def departures_by_day(world: World) -> dict[int, list[Departure]]:
    """Pools' departures by day: (pools, regions, fraction, underground too) — a pool ban or
    a pool's stop_service sends off all but the VPN leakage; a wind-down an even share of those
    left each day; a shutdown everyone, underground miners too (the days sim/agents/pools.py
    and regulators.py act on)."""
    sc, geo = world.scenario, world.geo
    everywhere = frozenset(range(world.num_regions))

    def covered(names: list[str] | None) -> frozenset[int]:
        if names is None:
            return everywhere
        return frozenset(np.flatnonzero(np.any(geo.covers[[geo.index(n) for n in names]],
                                               axis=0)).tolist())

    out: dict[int, list[Departure]] = defaultdict(list)
    for policy in sc.policies:
        if isinstance(policy, PoolServiceBan):
            pools = frozenset(p for p, spec in enumerate(sc.pools)
                              if policy.pools is None or spec.name in policy.pools)
            out[max(day_index(sc, policy.date), 0)].append(
                (pools, covered([policy.region]), 1.0 - policy.vpn_leakage, False))
    for p, spec in enumerate(sc.pools):
        for event in spec.events:
            if isinstance(event, PoolStopService):
                out[max(day_index(sc, event.date), 0)].append(
                    (frozenset([p]), covered(event.regions), 1.0 - event.vpn_leakage, False))
            elif isinstance(event, PoolShutdown):
                end = day_index(sc, event.date)
                first = max(end - event.wind_down_days, 0)
                if event.wind_down_days > 0:
                    for day in range(first, end):
                        out[day].append((frozenset([p]), everywhere, 1.0 / (end - day), True))
                out[max(end, first)].append((frozenset([p]), everywhere, 1.0, True))
    return dict(out)


class Pools:
    """Today's pools: who serves whom, the day's departures, and the pool-choice logit of a
    rig that must leave its pool (pools.reassign), computed once per (region, hw, old pool)."""

    def __init__(self, world: World, departures: list[Departure]) -> None:
        self.world = world
        self.departures = departures
        self.open: list[bool] = world.pool_open.tolist()
        self.banned: list[bool] = world.banned().tolist()
        self.serving: list[list[bool]] = world.pool_serves.tolist()
        self._cum: dict[tuple[int, int, int], list[float]] = {}

    def serves(self, rig: Rig) -> bool:
        return self.open[rig.pool] and self.serving[rig.pool][rig.region]

    def draw(self, rig: Rig, rng: Draws) -> int:
        """The rig's new pool, −1 where no pool is left to it."""
        key = (rig.region, rig.hw, rig.pool)
        cum = self._cum.get(key)
        if cum is None:
            cum = self._cum[key] = self._cumulative(*key)
        k = pick(cum, rng)
        return k if k < len(cum) else -1

    def _cumulative(self, region: int, hw: int, old: int) -> list[float]:
        w = self.world
        avail = (w.pool_open & w.pool_accepts[:, region]
                 & (w.pool_coin == w.hw_coin[hw]))
        avail[old] = False
        util = pool_utilities(w, np.array([region], dtype=np.intp))[0]
        return cumulative(kernels.softmax(util, avail).tolist())


@dataclass
class Tally:
    """One day's aggregates of a fleet of rigs."""

    region_hashrate_hs: F64  # (R,) rigs online or underground, where they are
    statuses: NDArray[np.int64]  # (S,) rigs per status
    pool_hashrate_hs: F64  # (P,)
    coin_hashrate_hs: F64  # (C,)


class Desk:
    """Reads the world for the rules and does the institution-level part of each day."""

    def __init__(self, world: World, seed: int) -> None:
        sc = world.scenario
        if sc.purchases or any(f.orders for f in sc.facilities):
            raise ValueError("the baselines model no purchases or facility orders")
        self.world = world
        # The baseline's rigs are the fleet now: institutions that act on the world's own
        # fleet (pools' departures) find it empty, and the rules apply their effect instead.
        world.fleet = Fleet.empty()
        self.departures = departures_by_day(world)
        self.chain_rng = np.random.default_rng([seed, 1])
        b = sc.behaviour
        self.hibernate_days = math.ceil(b.hibernate_days)
        self.sell_days = math.ceil(b.sell_delay_days)
        self.power_mw: list[float] = (world.hw_power_w / 1e6).tolist()
        self.hashrate_hs: list[float] = world.hw_hashrate_hs.tolist()
        self.transit = {pair: list(np.cumsum(pmf).tolist())
                        for pair, pmf in world.geo.pair_pmf.items()}
        self._pools: tuple[int, Pools] | None = None

    def pools(self, day: int) -> Pools:
        """Today's pools (built on first use each day, after the institutions' events)."""
        if self._pools is None or self._pools[0] != day:
            self._pools = (day, Pools(self.world, self.departures.get(day, [])))
        return self._pools[1]

    def mining_hashrate(self, rigs: Iterable[Rig]) -> F64:
        """Hashrate of rigs online or underground per coin (miners.mining_hashrate)."""
        by_hw = [0] * len(self.hashrate_hs)
        for rig in rigs:
            if rig.status == ONLINE or rig.status == UNDERGROUND:
                by_hw[rig.hw] += 1
        w = self.world
        return kernels.bincount(w.hw_coin, np.array(by_hw) * w.hw_hashrate_hs, len(w.chains))

    def today(self, day: int, hashrate: F64) -> tuple[Today, Economics]:
        """The day's economics and the world's state as the rules read them."""
        w = self.world
        w.day = day
        econ = economics(w, hashrate)
        spread = w.geo.electricity_spread_usd_per_kwh
        b = w.scenario.behaviour
        today = Today(
            day=day, revenue_k=econ.revenue_k.tolist(), cost_rk=econ.cost_rk.tolist(),
            power_w=w.hw_power_w.tolist(), elec=w.electricity_usd_per_kwh().tolist(),
            spread=spread.tolist() if spread.any() else None,
            fac_price=[None if math.isnan(x) else x for x in w.fac_power_usd_per_kwh.tolist()],
            fac_fee=np.where(w.fac_hosting, w.fac_fee_usd_per_kwh, 0.0).tolist(),
            pool_fee=w.pool_fee.tolist(), haircut=w.haircut.tolist(), outage=w.outage.tolist(),
            cutoff=w.cutoff.tolist(), p_ban=w.ban_probability().tolist(),
            p_detect=(-np.expm1(-np.nan_to_num(w.underground_hazard_per_day, nan=0.0))).tolist(),
            banned=w.banned().tolist(), pool_open=w.pool_open.tolist(),
            pool_serves=w.pool_serves.tolist(), exit_rate=w.exit_rate_per_day.tolist(),
            off_margin=b.switch_off_margin, on_margin=b.switch_on_margin,
            decision_rate=b.decision_rate_per_day)
        return today, econ

    def admit(self, rigs: Iterable[Rig], day: int) -> None:
        """Queued rigs take free capacity first come first served (facilities.admit_queued):
        a rig ordered by a facility waits for it; any other tries its region's hosting
        facilities, then the general capacity. In each place's line nobody overtakes a rig
        that did not fit."""
        w, power = self.world, self.power_mw
        general_free = w.capacity_mw.tolist()
        fac_free = w.fac_capacity_mw.tolist()
        queued = []
        for rig in rigs:
            if rig.status == ONLINE or rig.status == OFFLINE:
                if rig.facility >= 0:
                    fac_free[rig.facility] -= power[rig.hw]
                else:
                    general_free[rig.region] -= power[rig.hw]
            elif rig.status == QUEUED:
                queued.append(rig)
        if not queued:
            return
        queued.sort(key=lambda rig: (rig.t_since, rig.uid))
        dark = (w.cutoff | w.outage).tolist()
        fac_region = w.fac_region.tolist()
        fac_free = [0.0 if dark[fac_region[f]] else x for f, x in enumerate(fac_free)]
        general_free = [0.0 if dark[r] else x for r, x in enumerate(general_free)]
        hosts: dict[int, list[int]] = defaultdict(list)
        for f in np.flatnonzero(w.fac_hosting).tolist():
            hosts[fac_region[f]].append(f)
        # facility orders first, then everyone else: each place keeps one line a day
        for ordered in (True, False):
            offered_f = [0.0] * len(fac_free)
            offered_g = [0.0] * len(general_free)
            taken_f = [0.0] * len(fac_free)
            for rig in queued:
                if rig.status != QUEUED or (rig.facility >= 0) != ordered:
                    continue
                mw = power[rig.hw]
                places = [rig.facility] if ordered else hosts.get(rig.region, [])
                for f in places:
                    ok = fits(fac_free[f] - offered_f[f], mw)
                    offered_f[f] += mw
                    if ok:
                        taken_f[f] += mw
                        _online(rig, f, day)
                        break
                else:
                    if not ordered:
                        ok = fits(general_free[rig.region] - offered_g[rig.region], mw)
                        offered_g[rig.region] += mw
                        if ok:
                            _online(rig, -1, day)
            fac_free = [x - t for x, t in zip(fac_free, taken_f, strict=True)]

    def market(self, econ: Economics, rigs: Iterable[Rig]) -> Market:
        """Today's relocation desk: hashsim's `Relocation`, its capacity counted from the
        baseline's rigs (built once a day, when someone moves)."""
        counts: dict[tuple[int, ...], int] = defaultdict(int)
        for rig in rigs:
            hib = int(rig.status == BANNED_OFF and rig.t_due != NEVER)
            counts[(rig.status, rig.region, rig.pool, rig.hw, rig.facility, rig.tier, hib)] += 1
        w = self.world
        w.fleet = cohort_fleet(counts)  # Relocation counts occupancy from the world's fleet
        reloc = Relocation(w, econ)
        w.fleet = Fleet.empty()
        return Market(self, reloc)

    def close_day(self, rigs: Iterable[Rig], day: int) -> Tally:
        """The day's aggregates; the chain mines the day at the fleet's hashrate and pools'
        shares are updated (engine._ticks and the recorder)."""
        w = self.world
        region = [0.0] * w.num_regions
        statuses = [0] * NUM_STATUSES
        pool = [0.0] * len(w.pool_fee)
        by_hw = [0] * len(self.hashrate_hs)
        for rig in rigs:
            statuses[rig.status] += 1
            if rig.status == ONLINE or rig.status == UNDERGROUND:
                h = self.hashrate_hs[rig.hw]
                region[rig.region] += h
                pool[rig.pool] += h
                by_hw[rig.hw] += 1
        coin = kernels.bincount(w.hw_coin, np.array(by_hw) * w.hw_hashrate_hs, len(w.chains))
        for c, chain in enumerate(w.chains):
            chain.advance_day(day, float(coin[c]), self.chain_rng)
        pool_hs = np.array(pool)
        total = coin[w.pool_coin]
        w.pool_share = np.divide(pool_hs, total, out=np.zeros_like(pool_hs), where=total > 0)
        return Tally(np.array(region), np.array(statuses, dtype=np.int64), pool_hs, coin)


def _online(rig: Rig, facility: int, day: int) -> None:
    rig.status = ONLINE
    rig.facility = facility
    rig.t_since = day


def cohort_fleet(counts: dict[tuple[int, ...], int]) -> Fleet:
    """A hashsim fleet of cohorts from rigs counted by (status, region, pool, hw, facility,
    tier, hibernating)."""
    keys = np.array(list(counts), dtype=np.int64).reshape(-1, 7)
    fleet = Fleet.empty(max(64, len(keys)))
    if len(keys):
        fleet.append(count=np.array(list(counts.values()), dtype=np.int64),
                     status=keys[:, 0], region=keys[:, 1], pool=keys[:, 2], hw=keys[:, 3],
                     facility=keys[:, 4], tier=keys[:, 5],
                     t_due=np.where(keys[:, 6] > 0, 0, NEVER))
    return fleet


class Market:
    """Today's relocation desk: hashsim's `Relocation` gives the logit utilities, the
    destinations allowed and the rationing (on (origin, hw) groups); rigs then book a
    destination's capacity one at a time (Relocation.book for one rig)."""

    def __init__(self, desk: Desk, reloc: Relocation) -> None:
        self.desk, self.reloc, self.world = desk, reloc, desk.world
        self.dests: list[int] = reloc.dest.tolist()
        self.hibernate_days = desk.hibernate_days
        self.sell_days = desk.sell_days
        self.paths = self.world.geo.path_routes

    def transit(self, origin: int, dest: int) -> list[float]:
        return self.desk.transit[(origin, dest)]

    def book(self, rig: Rig, k: int) -> bool:
        """Book room for `rig` at destination k, and on its route; False if none is left."""
        reloc = self.reloc
        mw = self.desk.power_mw[rig.hw]
        if not fits(float(reloc.bookable_mw[0, k]), mw):
            return False
        path = self.paths[rig.region][self.dests[k]]
        if path:
            if not fits(float(reloc.route_left[path].min()), 1.0):
                return False
            reloc.route_left[path] -= 1.0
        reloc.bookable_mw[0, k] -= mw
        return True

    def exit_choices(self, region: int, movers_by_hw: dict[int, int]) -> dict[int, list[float]]:
        """Running sums of the rationed destination probabilities of rigs leaving `region`
        pre-emptively, by hardware (miners.exits)."""
        hw = np.array(list(movers_by_hw), dtype=np.intp)
        counts = np.array(list(movers_by_hw.values()), dtype=float)
        origin = np.full(len(hw), region, dtype=np.intp)
        reloc = self.reloc
        probs = kernels.softmax(reloc.utilities(origin, hw), reloc.available(origin))
        probs *= reloc.ration(origin, hw, probs * counts[:, None])
        return {int(k): cumulative(p) for k, p in zip(hw, probs.tolist(), strict=True)}

    def decision_choices(self, deciders: dict[tuple[int, int], int]
                         ) -> dict[tuple[int, int], tuple[list[float], list[float]]]:
        """Running sums of the choice probabilities of deciding rigs by (origin, hw):
        destinations then underground, hibernate, sell, retire; and of their buyers'
        destinations (miners.decide)."""
        w, reloc = self.world, self.reloc
        b = w.scenario.behaviour
        keys = list(deciders)
        origin = np.array([o for o, _ in keys], dtype=np.intp)
        hw = np.array([k for _, k in keys], dtype=np.intp)
        counts = np.array(list(deciders.values()), dtype=float)
        n_dest = len(self.dests)
        u_reloc, avail_reloc = reloc.utilities(origin, hw), reloc.available(origin)
        scale = b.profit_scale_usd
        hazard = w.underground_hazard_per_day[origin]
        days = kernels.expected_mining_days(np.nan_to_num(hazard), b.horizon_days)
        u_other = np.stack([
            days * reloc.econ.margin_rk[origin, hw] / scale - b.risk_aversion * w.risk[origin]
            + b.constants.underground,
            hibernate_utility(w, reloc.econ, origin, hw),
            b.resale_fraction * w.hw_price_usd[hw] / scale + b.constants.sell,
            np.full(len(origin), b.scrap_usd / scale + b.constants.retire)], axis=1)
        ones = np.ones(len(origin), dtype=bool)
        avail_other = np.stack([~np.isnan(hazard), ones, avail_reloc.any(axis=1), ones], axis=1)
        probs = kernels.softmax(np.concatenate([u_reloc, u_other], axis=1),
                                np.concatenate([avail_reloc, avail_other], axis=1))
        buyer = kernels.softmax(u_reloc, avail_reloc)
        sell = n_dest + 2
        factor = reloc.ration(origin, hw,
                              (probs[:, :n_dest] + probs[:, [sell]] * buyer) * counts[:, None])
        probs[:, :n_dest] *= factor
        buyer_ok = (buyer * factor).sum(axis=1)
        buyer = np.divide(buyer * factor, buyer_ok[:, None], out=np.zeros_like(buyer),
                          where=buyer_ok[:, None] > 0)
        probs[:, sell] *= buyer_ok
        return {key: (cumulative(p), cumulative(q))
                for key, p, q in zip(keys, probs.tolist(), buyer.tolist(), strict=True)}
