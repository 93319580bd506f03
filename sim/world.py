"""The world: every table of a scenario as numpy arrays, plus the fleet and the chains.

Names become integer indices here, once. The institutions (sim/agents) change the per-region,
per-pool and per-facility state arrays; the daily step reads them.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim import kernels
from sim.chain import Chain
from sim.errors import HashsimError
from sim.geography import Geography, build_geography
from sim.rng import Streams
from sim.scenario import CapacityStep, FleetEntry, Purchase, Scenario
from sim.state import CHOICES, COLUMNS, ONLINE, Fleet

F64 = NDArray[np.float64]


#: Power-price tiers of a region's sites: the midpoints of 5 equal slices of U(−1, 1), times
#: the region's `electricity_spread_usd_per_kwh`. Rigs added where there is no spread go to
#: the middle tier, so they pay the mean price wherever they later move.
NUM_TIERS = 5
TIER_OFFSETS = (np.arange(NUM_TIERS) + 0.5) / NUM_TIERS * 2.0 - 1.0
MIDDLE_TIER = NUM_TIERS // 2


def day_index(scenario: Scenario, date: dt.date) -> int:
    """Days from the scenario start to `date` (negative before it)."""
    return (date - scenario.start).days


def schedule_value(steps: list[CapacityStep], day: int, start: dt.date, default: float) -> float:
    """The value of a capacity schedule on `day` (`default` before its first step)."""
    value = default
    for step in steps:
        if (step.date - start).days <= day:
            value = step.mw
    return value


@dataclass
class Event:
    """One line of events.csv."""

    time_days: float
    kind: str
    actor: str
    region: str
    description: str


@dataclass(frozen=True)
class TemplateGeo:
    """The regions and routes of one copy of a world (all of them, in a world of one copy):
    its copies' are the same, shifted by the copy's first region and route."""

    num_regions: int
    num_routes: int
    reachable: NDArray[np.bool_]  # (R, R)
    mean_transit_days: F64  # (R, R)
    cost_usd_per_rig: F64  # (R, R)
    path_routes: list[list[list[int]]]  # [o][d] -> routes of the copy along the path
    # the same as flat arrays: pair (o, d)'s routes are path_route[start : start + length]
    path_start: NDArray[np.intp]  # (R * R,)
    path_length: NDArray[np.intp]  # (R * R,)
    path_route: NDArray[np.intp]
    # the longest transit-time distribution of any pair, in days (cohort shipments draw over
    # this many days whatever pairs a day's shipments have, so a draw never depends on them)
    transit_span: int = 1

    @classmethod
    def of(cls, geo: Geography, copies: int) -> TemplateGeo:
        num = geo.num_regions // copies
        paths = [row[:num] for row in geo.path_routes[:num]]
        lengths = np.array([len(paths[o][d]) for o in range(num) for d in range(num)],
                           dtype=np.intp)
        flat = [k for o in range(num) for d in range(num) for k in paths[o][d]]
        return cls(num, len(geo.routes) // copies, geo.reachable()[:num, :num],
                   geo.mean_transit_days[:num, :num], geo.cost_usd_per_rig[:num, :num], paths,
                   np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp), lengths,
                   np.array(flat, dtype=np.intp),
                   max((len(p) for p in geo.pair_pmf.values()), default=1))


@dataclass(frozen=True)
class Ban:
    """An active mining ban, compiled: where, how hard, from when, how fast."""

    where: NDArray[np.bool_]  # (R,)
    hazard_per_day: float
    start_day: float  # date + grace
    ramp_days: float


@dataclass
class World:
    scenario: Scenario
    geo: Geography
    streams: Streams
    fleet: Fleet
    chains: list[Chain]
    # hardware (K,)
    hw_coin: NDArray[np.intp]
    hw_hashrate_hs: F64
    hw_power_w: F64
    hw_price_usd: F64
    # pools (P,), (P, R)
    pool_coin: NDArray[np.intp]
    pool_fee: F64
    pool_country: NDArray[np.intp]
    pool_open: NDArray[np.bool_]
    pool_serves: NDArray[np.bool_]
    pool_accepts: NDArray[np.bool_]
    pool_winddown_end: NDArray[np.int64]  # day the pool closes, −1 if not winding down
    # facilities (F,)
    fac_region: NDArray[np.intp]
    fac_capacity_mw: F64
    fac_hosting: NDArray[np.bool_]
    fac_power_usd_per_kwh: F64  # NaN: the region's price
    fac_fee_usd_per_kwh: F64
    fac_fixed_usd_per_day: F64
    # regions (R,) — current state, changed by institutions
    capacity_mw: F64  # general hosting capacity (inf: unlimited)
    incentive_capacity_mw: F64
    bans: list[Ban]
    # NaN: going underground not possible (replaced when policies change, never written in
    # place: detection() keeps what it derives from the array it last saw)
    underground_hazard_per_day: F64
    cutoff: NDArray[np.bool_]
    haircut: F64
    risk: F64
    discount_usd_per_kwh: F64
    # coins (C,)
    price_usd: F64
    exit_rate_per_day: F64 = field(default_factory=lambda: np.zeros(0))
    suspend_rate_per_day: F64 = field(default_factory=lambda: np.zeros(0))  # wait-and-see
    suspend_days: F64 = field(default_factory=lambda: np.zeros(0))
    # the day the policies forcing rigs off in a region are expected to end (an announced
    # end; nan where none forces rigs off, or one has no known end) (R,)
    expected_end_day: F64 = field(default_factory=lambda: np.zeros(0))
    outage: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))  # (R,)
    pool_share: F64 = field(default_factory=lambda: np.zeros(0))  # of its coin's hashrate
    initial_serves: NDArray[np.bool_] = field(default_factory=lambda: np.zeros((0, 0), bool))
    active_policies: list[tuple[Any, int]] = field(default_factory=list)
    service_levels: dict[int, float] = field(default_factory=dict)
    day: int = 0
    events: list[Event] = field(default_factory=list)
    _capacity_steps: tuple[NDArray[np.int64], F64] | None = None  # (see _step_table)
    # per-day accumulators of migration flows (copies, C, R, R) by the rigs' coin, with the
    # coin and regions of each copy (flow_at): departures, arrivals, hashrate departed
    flow_departed: F64 = field(default_factory=lambda: np.zeros(0))
    flow_arrived: F64 = field(default_factory=lambda: np.zeros(0))
    flow_hashrate: F64 = field(default_factory=lambda: np.zeros(0))
    # the day's decisions (copies, C, R, CHOICES) by the deciding rigs' coin and origin
    decided: F64 = field(default_factory=lambda: np.zeros(0))
    relocated_total: F64 = field(default_factory=lambda: np.zeros(0))
    # rigs of a coin due to arrive from origin at destination, by copy and day (flows.csv's
    # arrivals; coin and regions within their copy)
    arrivals: dict[tuple[int, int, int], F64] = field(default_factory=dict)
    # A batch (sim/batch.py): `copies` independent copies of one scenario in one world, each
    # with its own streams; a copy's regions (coins) are the `region_block` (`coin_block`)
    # consecutive ones from copy × block. A world alone is one copy of all its regions.
    copies: int = 1
    copy_streams: list[Streams] = field(default_factory=list)
    region_block: int = 1
    coin_block: int = 1
    _template: TemplateGeo | None = None
    _purchase_plan: tuple[dict[str, int], list[tuple[Purchase, int, int, bool]]] | None = None
    _generators: dict[str, list[np.random.Generator]] = field(default_factory=dict)
    _journeys: tuple[F64, F64, NDArray[np.bool_]] | None = None
    _transit: tuple[F64, F64, NDArray[np.int64]] | None = None
    _targets: NDArray[np.bool_] | None = None
    _route_rates: tuple[F64, NDArray[np.intp]] | None = None
    _fac_steps: tuple[NDArray[np.int64], F64] | None = None
    _ban_table: tuple[NDArray[np.bool_], F64, F64, F64] = (
        np.zeros((0, 0), bool), np.zeros(0), np.zeros(0), np.zeros(0))

    def draw(self, name: str, copy: NDArray[np.integer],
             fn: Callable[[np.random.Generator, Any], NDArray[Any]]) -> NDArray[Any]:
        """`fn(generator, which)` for the elements of each copy (`copy[i]` is element i's),
        from that copy's stream `name`, assembled in the elements' order: elements of one copy
        get the draws a world of that copy alone would make. In a world of one copy, `which`
        is every element (a slice)."""
        if self.copies == 1:
            return fn(self.streams[name], slice(None))
        parts = [(which, np.asarray(fn(gen, which))) for gen, which in self.each(name, copy)]
        if isinstance(parts[0][0], slice):  # (elements sorted by copy: in order already)
            return np.concatenate([got for _, got in parts])
        first = parts[0][1]
        out = np.zeros((len(copy), *first.shape[1:]), dtype=first.dtype)
        for which, got in parts:
            out[which] = got
        return out

    def allocate(self, name: str, copy: NDArray[np.integer], counts: NDArray[np.int64],
                 probs: F64) -> NDArray[np.int64]:
        """``kernels.allocate`` of rows `counts` over `probs` (n, A) from each copy's stream
        `name` (`copy[i]` is row i's); the rows are normalised once for every copy."""
        if len(counts) == 0:
            return np.zeros(probs.shape, dtype=np.int64)
        full = kernels.with_rest(probs)
        alloc = self.draw(name, copy, lambda gen, w: gen.multinomial(counts[w], full[w]))
        return alloc[:, :probs.shape[1]].astype(np.int64)

    def each(self, name: str, copy: NDArray[np.integer]
             ) -> Iterator[tuple[np.random.Generator, Any]]:
        """Each copy's stream `name` with the elements that are its (`copy[i]` is element
        i's), copy by copy: a slice of them where the elements are sorted by copy, else their
        indices; at least one pair. In a world of one copy: its stream and every element."""
        if self.copies == 1:
            yield self.streams[name], slice(None)
            return
        copy = np.asarray(copy)
        gens = self._generators.get(name)
        if gens is None:
            gens = self._generators[name] = [streams[name] for streams in self.copy_streams]
        if len(copy) == 0:
            yield gens[0], np.zeros(0, dtype=np.intp)
            return
        bounds = np.cumsum(np.bincount(copy, minlength=self.copies)).tolist()
        ordered = bool((copy[1:] >= copy[:-1]).all())  # (cohorts come sorted by copy)
        order = None if ordered else np.argsort(copy, kind="stable")
        lo = 0
        for k, hi in enumerate(bounds):
            if hi > lo:
                yield gens[k], slice(lo, hi) if order is None else order[lo:hi]
                lo = hi

    def purchase_plan(self) -> tuple[dict[str, int], list[tuple[Purchase, int, int, bool]]]:
        """Pools by name, and each purchase with its region, hardware and whether its region
        has power-price tiers (computed once)."""
        if self._purchase_plan is None:
            sc = self.scenario
            hw_idx = {h.name: i for i, h in enumerate(sc.hardware)}
            reg = self.geo.index
            self._purchase_plan = (
                {p.name: i for i, p in enumerate(sc.pools)},
                [(spec, reg(spec.region), hw_idx[spec.hardware],
                  bool(self.geo.electricity_spread_usd_per_kwh[reg(spec.region)] > 0))
                 for spec in sc.purchases])
        return self._purchase_plan

    def template_geo(self) -> TemplateGeo:
        """The routes of one copy (of the world, if it is one copy), computed once."""
        if self._template is None:
            self._template = TemplateGeo.of(self.geo, self.copies)
        return self._template

    def journeys(self) -> tuple[F64, F64, NDArray[np.bool_]]:
        """Between the regions of a copy (R, R): the days within the decision horizon that a
        relocated rig mines after its journey (none where unreachable), the journey's cost
        per rig (0 where unreachable), and whether rigs can make it (a route, and not to where
        they are); computed once."""
        if self._journeys is None:
            tmpl, horizon = self.template_geo(), self.scenario.behaviour.horizon_days
            transit = np.nan_to_num(tmpl.mean_transit_days, posinf=horizon)
            self._journeys = (np.maximum(horizon - transit, 0.0),
                              np.nan_to_num(tmpl.cost_usd_per_rig, posinf=0.0),
                              tmpl.reachable & ~np.eye(tmpl.num_regions, dtype=bool))
        return self._journeys

    def targets(self) -> NDArray[np.bool_]:
        """Leaf regions that the scenario lets relocating rigs go to, bans aside (R,);
        computed once."""
        if self._targets is None:
            geo, names = self.geo, self.scenario.behaviour.destinations
            self._targets = geo.is_leaf.copy()
            if names is not None:
                self._targets &= np.any(geo.covers[[geo.index(n) for n in names]], axis=0)
        return self._targets

    def route_rates(self) -> tuple[F64, NDArray[np.intp]]:
        """Each route's capacity in rigs per day, inf where it has no limit (routes,), and
        the routes that have one; computed once."""
        if self._route_rates is None:
            rates = np.array([np.inf if rt.capacity_rigs_per_day is None
                              else rt.capacity_rigs_per_day for rt in self.geo.routes],
                             dtype=float)
            self._route_rates = (rates, np.flatnonzero(np.isfinite(rates)))
        return self._route_rates

    def route_rigs_on(self, day: int) -> F64:
        """Whole rigs each route carries on `day` (routes,): :func:`whole_on` of its rate,
        every route at once; inf where it has no limit."""
        rates, limited = self.route_rates()
        rigs, rate = rates.copy(), rates[limited]
        rigs[limited] = np.floor((day + 1) * rate + 1e-9) - np.floor(day * rate + 1e-9)
        return rigs

    def transit_tables(self) -> tuple[F64, F64, NDArray[np.int64]]:
        """The transit-time law of each (origin, destination) pair of a copy's regions, by
        pair ``o · R + d`` (R the regions of a copy), over the longest law's days: its
        probabilities (zero past its last day), its CDF (``np.cumsum``; infinite past the last
        day) and its last day. Pairs without a path: zero, infinite, 0. Computed once."""
        if self._transit is None:
            num_r, span = self.region_block, self.template_geo().transit_span
            pmf, cdf = np.zeros((num_r * num_r, span)), np.full((num_r * num_r, span), np.inf)
            last = np.zeros(num_r * num_r, dtype=np.int64)
            for (o, d), law in self.geo.pair_pmf.items():
                if o < num_r and d < num_r:  # (a batch world's copies share their laws)
                    at = o * num_r + d
                    pmf[at, :len(law)], cdf[at, :len(law)] = law, np.cumsum(law)
                    last[at] = len(law) - 1
            self._transit = (pmf, cdf, last)
        return self._transit

    def make_batch(self, copies: list[Streams], region_block: int, coin_block: int) -> None:
        """Make this world (of a stacked scenario, sim/batch.py) one of `copies`."""
        self.copies, self.copy_streams = len(copies), copies
        self._generators = {}
        self.region_block, self.coin_block = region_block, coin_block
        shape = (len(copies), coin_block, region_block, region_block)
        self.flow_departed, self.flow_arrived = np.zeros(shape), np.zeros(shape)
        self.flow_hashrate = np.zeros(shape)
        self.decided = np.zeros((*shape[:3], len(CHOICES)))

    def flow_at(self, coin: Any, origin: Any, dest: Any) -> tuple[Any, Any, Any, Any]:
        """Where flows of `coin` from `origin` to `dest` are counted (arrays or numbers)."""
        return (origin // self.region_block, coin % self.coin_block,
                origin % self.region_block, dest % self.region_block)

    def stream(self, name: str, copy: int = 0) -> np.random.Generator:
        """Stream `name` of one copy (of the only one, in a world of one copy)."""
        return self.streams[name] if self.copies == 1 else self.copy_streams[copy][name]

    def copy_of(self, region: str) -> int | None:
        """The copy that region `region` belongs to in a batch (None in a world alone)."""
        return None if self.copies == 1 else self.geo.index(region) // self.region_block

    def region_copy(self, region: NDArray[np.integer]) -> NDArray[np.intp]:
        """The copy each region belongs to (0 in a world of one copy)."""
        return np.asarray(region, dtype=np.intp) // self.region_block

    # ------------------------------------------------------------------ lookups
    @property
    def num_regions(self) -> int:
        return self.geo.num_regions

    def date(self, day: int | float) -> dt.date:
        return self.scenario.start + dt.timedelta(days=int(day))

    def log(self, time_days: float, kind: str, actor: str, region: str, text: str) -> None:
        self.events.append(Event(float(time_days), kind, actor, region, text))

    def electricity_usd_per_kwh(self) -> F64:
        """Today's power price per region, incentives included (R,)."""
        price = self.geo.price_on(self.date(self.day)) - self.discount_usd_per_kwh
        return np.maximum(price, 0.0)

    def may_ban(self) -> bool:
        """Whether :meth:`ban_probability` can be above 0 anywhere today: some ban is active
        or some region is cut off (with neither, it is 0 everywhere)."""
        return bool(self.bans) or bool(self.cutoff.any())

    def ban_probability(self) -> F64:
        """Probability that enforcement hits a rig today, per region (R,); 0 everywhere
        unless :meth:`may_ban`.

        Each active ban ramps up on its own clock; where bans overlap, the strongest today
        applies (a later ban never restarts an earlier one's ramp).
        """
        where, hazard_per_day, start_day, ramp_days = self._ban_table
        since = self.day - start_day
        ramp = np.ones_like(since)
        slow = ramp_days > 0
        with np.errstate(over="ignore"):  # (a ramp of a tiny fraction of a day: at once)
            ramp[slow] = np.minimum(1.0, (since[slow] + 1.0) / ramp_days[slow])
        today = np.where(where & (since >= 0)[:, None], (hazard_per_day * ramp)[:, None], 0.0)
        hazard = today.max(axis=0, initial=0.0)
        return np.where(self.cutoff, 1.0, -np.expm1(-hazard))

    def detection(self) -> tuple[F64, F64]:
        """Per region (R,): the hazard that hidden rigs are found (0 where none can hide)
        and the probability that one is found today."""
        known = np.nan_to_num(self.underground_hazard_per_day, nan=0.0)
        return known, -np.expm1(-known)

    def banned(self) -> NDArray[np.bool_]:
        """Regions where mining is forbidden now or by an announced ban (R,)."""
        where, hazard_per_day, _, _ = self._ban_table
        return self.cutoff | (where & (hazard_per_day > 0)[:, None]).any(axis=0)

    def set_bans(self, bans: list[Ban]) -> None:
        """The active bans, and their table: where (bans, R), hazard, start day, ramp days."""
        self.bans = bans
        self._ban_table = (
            np.array([b.where for b in bans], dtype=bool).reshape(len(bans), self.num_regions),
            np.array([b.hazard_per_day for b in bans], dtype=float),
            np.array([b.start_day for b in bans], dtype=float),
            np.array([b.ramp_days for b in bans], dtype=float))

    def capacity_on(self, day: int) -> F64:
        """General hosting capacity per region on `day` from the schedules, incentives
        included (R,)."""
        if self._capacity_steps is None:
            sc = self.scenario
            bases = [np.inf if reg.capacity_mw is None else reg.capacity_mw
                     for reg in sc.regions]
            self._capacity_steps = _step_table(
                {max(0, (s.date - sc.start).days) for r in sc.regions
                 for s in r.capacity_schedule} | {0},
                lambda d: [schedule_value(reg.capacity_schedule, d, sc.start, base)
                           for reg, base in zip(sc.regions, bases, strict=True)])
        return _step_on(*self._capacity_steps, day) + self.incentive_capacity_mw

    def facility_capacity_on(self, day: int) -> F64:
        """Each facility's capacity on `day` from its schedule, MW (F,); before its first
        step, that step's. A table by the days of every facility's steps, computed once."""
        if self._fac_steps is None:
            sc = self.scenario
            firsts = [(f.capacity[0].date - sc.start).days for f in sc.facilities]
            self._fac_steps = _step_table(
                {(s.date - sc.start).days for f in sc.facilities for s in f.capacity},
                lambda d: [schedule_value(f.capacity, max(d, first), sc.start, 0.0)
                           for f, first in zip(sc.facilities, firsts, strict=True)])
        if len(self._fac_steps[0]) == 0:  # no facilities
            return np.zeros(0)
        return _step_on(*self._fac_steps, day).copy()


def _step_table(days: set[int], values_on: Callable[[int], list[float]]
                ) -> tuple[NDArray[np.int64], F64]:
    """A step schedule as a table: its step days, sorted, and `values_on` each of them
    (steps,) and (steps, columns); read with :func:`_step_on`."""
    steps = sorted(days)
    return np.array(steps, dtype=np.int64), np.array([values_on(d) for d in steps], dtype=float)


def _step_on(steps: NDArray[np.int64], table: F64, day: int) -> F64:
    """The row of a :func:`_step_table` in force on `day`: its last step at or before `day`
    (the first step's before them all). A view of the table."""
    return table[max(int(np.searchsorted(steps, day, side="right")) - 1, 0)]


def pool_split(spec: str | dict[str, float], pool_idx: dict[str, int], rigs: int
                ) -> list[tuple[int, int]]:
    """Rigs per pool for a fleet entry: largest remainders, so the total is exact."""
    if isinstance(spec, str):
        return [(pool_idx[spec], rigs)]
    names = list(spec)
    w = np.array([spec[n] for n in names], dtype=float)
    exact = rigs * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - base), kind="stable")
    base[order[: rigs - int(base.sum())]] += 1
    return [(pool_idx[n], int(b)) for n, b in zip(names, base, strict=True) if b > 0]


def build_world(scenario: Scenario, streams: Streams) -> World:
    """Compile a validated scenario into a world at day 0 (institutions not yet started)."""
    geo = build_geography(scenario)
    reg = {n: i for i, n in enumerate(geo.names)}
    coin_idx = {c.name: i for i, c in enumerate(scenario.coins)}
    hw_idx = {h.name: i for i, h in enumerate(scenario.hardware)}
    pool_idx = {p.name: i for i, p in enumerate(scenario.pools)}
    fac_idx = {f.name: i for i, f in enumerate(scenario.facilities)}
    num_r, num_p, num_c = geo.num_regions, len(scenario.pools), len(scenario.coins)

    serves = np.zeros((num_p, num_r), dtype=bool)
    for p, pool in enumerate(scenario.pools):
        if pool.regions is None:
            serves[p] = True
        else:
            for name in pool.regions:
                serves[p] |= geo.covers[reg[name]]

    single = scenario.resolution == "rig"
    capacity = sum(e.rigs for e in scenario.fleet) if single else 4 * len(scenario.fleet)
    if single:
        check_rig_memory(capacity)
    fleet = Fleet.empty(max(64, capacity), single=single)
    for entry in scenario.fleet:
        _add_entry(fleet, entry, reg, hw_idx, pool_idx, fac_idx, scenario.resolution,
                   geo.electricity_spread_usd_per_kwh)

    hw = scenario.hardware
    world = World(
        scenario=scenario, geo=geo, streams=streams, fleet=fleet, chains=[],
        hw_coin=np.array([coin_idx[h.coin] for h in hw], dtype=np.intp),
        hw_hashrate_hs=np.array([h.hashrate_hs for h in hw]),
        hw_power_w=np.array([h.power_w for h in hw]),
        hw_price_usd=np.array([h.price_usd for h in hw]),
        pool_coin=np.array([coin_idx[p.coin] for p in scenario.pools], dtype=np.intp),
        pool_fee=np.array([p.fee for p in scenario.pools]),
        pool_country=np.array([geo.country_idx[reg[p.home_region]] if p.home_region else -1
                               for p in scenario.pools], dtype=np.intp),
        pool_open=np.ones(num_p, dtype=bool), pool_serves=serves, pool_accepts=serves.copy(),
        pool_winddown_end=np.full(num_p, -1, dtype=np.int64),
        fac_region=np.array([reg[f.region] for f in scenario.facilities], dtype=np.intp),
        fac_capacity_mw=np.zeros(len(scenario.facilities)),
        fac_hosting=np.array([f.mode == "hosting" for f in scenario.facilities], dtype=bool),
        fac_power_usd_per_kwh=np.array([np.nan if f.power_usd_per_kwh is None
                                        else f.power_usd_per_kwh for f in scenario.facilities]),
        fac_fee_usd_per_kwh=np.array([f.hosting_fee_usd_per_kwh for f in scenario.facilities]),
        fac_fixed_usd_per_day=np.array([f.fixed_cost_usd_per_month * 12 / 365.25
                                        for f in scenario.facilities]),
        capacity_mw=np.zeros(num_r), incentive_capacity_mw=np.zeros(num_r),
        bans=[], underground_hazard_per_day=np.full(num_r, np.nan),
        cutoff=np.zeros(num_r, dtype=bool), haircut=np.zeros(num_r),
        risk=geo.base_risk.copy(), discount_usd_per_kwh=np.zeros(num_r),
        price_usd=np.zeros(len(scenario.coins)),
        flow_departed=np.zeros((1, num_c, num_r, num_r)),
        flow_arrived=np.zeros((1, num_c, num_r, num_r)),
        flow_hashrate=np.zeros((1, num_c, num_r, num_r)), relocated_total=np.zeros(num_r),
        decided=np.zeros((1, num_c, num_r, len(CHOICES))),
        region_block=num_r, coin_block=num_c,
    )
    world.exit_rate_per_day = np.zeros(num_r)
    world.suspend_rate_per_day = np.zeros(num_r)
    world.suspend_days = np.zeros(num_r)
    world.expected_end_day = np.full(num_r, np.nan)
    world.outage = np.zeros(num_r, dtype=bool)
    world.set_bans([])
    world.pool_share = np.full(num_p, 1.0 / num_p)
    world.initial_serves = serves.copy()
    world.capacity_mw = world.capacity_on(0)
    world.fac_capacity_mw = world.facility_capacity_on(0)  # (its table made with the world)
    return world


def _add_entry(fleet: Fleet, entry: FleetEntry, reg: dict[str, int], hw_idx: dict[str, int],
               pool_idx: dict[str, int], fac_idx: dict[str, int], resolution: str,
               spread: F64) -> None:
    tiers = bool(spread[reg[entry.region]] > 0) and entry.facility is None
    for pool, rigs in pool_split(entry.pool, pool_idx, entry.rigs):
        add_rigs(fleet, rigs, resolution, tiers=tiers, status=ONLINE, region=reg[entry.region],
                 pool=pool, hw=hw_idx[entry.hardware],
                 facility=fac_idx[entry.facility] if entry.facility else -1)


def new_rows(rigs: int, resolution: str, tiers: bool = False
             ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Rows for `rigs` new rigs: (count, tier) of one row (cohort resolution) or of one row
    per rig (rig resolution).

    With `tiers`, the rigs are spread evenly over the power-price tiers (a cohort becomes one
    row per tier); without, they all take the middle tier.
    """
    if rigs <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if not tiers:
        counts, tier = np.array([rigs], dtype=np.int64), np.array([MIDDLE_TIER])
    else:
        counts = np.full(NUM_TIERS, rigs // NUM_TIERS, dtype=np.int64)
        counts[: rigs % NUM_TIERS] += 1
        tier = np.arange(NUM_TIERS)
    if resolution == "rig":
        tier = np.repeat(tier, counts)
        counts = np.ones(rigs, dtype=np.int64)
    keep = counts > 0
    return counts[keep], tier[keep].astype(np.int64)


#: Peak memory of a rig-resolution run per rig, as a multiple of its fleet columns (the
#: recorder, temporaries of the largest days; measured: 365 MB at 3M rigs, 38 B of columns).
RIG_MEMORY_FACTOR = 3.0


def check_rig_memory(rigs: int) -> None:
    """Refuse a rig-resolution fleet that would not fit in this machine's memory."""
    row_bytes = sum(np.dtype(t).itemsize for t in COLUMNS.values())
    need = rigs * row_bytes * RIG_MEMORY_FACTOR
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform: no check
        return
    if need > have:
        raise HashsimError(
            f"resolution: rig with {rigs:,} rigs needs about {need / 2**30:.1f} GiB "
            f"({row_bytes} bytes of fleet columns per rig, about {RIG_MEMORY_FACTOR:.0f}× that "
            f"at peak); this machine has {have / 2**30:.1f} GiB. Use resolution: cohort — the "
            "same model, the same aggregates in distribution (docs/performance.md).")


def add_rigs(fleet: Fleet, rigs: int, resolution: str, tiers: bool = False,
             **attrs: Any) -> None:
    """Add `rigs` new rigs (see :func:`new_rows`) with the attributes `attrs`."""
    counts, tier = new_rows(rigs, resolution, tiers)
    if len(counts):
        fleet.append(count=counts, tier=tier, **attrs)


def whole_on(rate_per_day: float, day: int) -> int:
    """Whole units on day `day` (from 0) of a steady rate: the cumulative count's step, so
    that the days add up exactly (0.5 a day: one every other day; a whole rate is itself)."""
    # (math.floor: np.floor's result for a float, without an array round trip)
    return (math.floor((day + 1) * rate_per_day + 1e-9)
            - math.floor(day * rate_per_day + 1e-9))


def purchase_rigs_on(purchase: Purchase, day: int, start: dt.date) -> int:
    """Rigs a purchase delivers on `day`: whole rigs of the cumulative rate (exact over time)."""
    d0 = (purchase.start - start).days
    d1 = (purchase.end - start).days
    if day < d0 or day >= d1:
        return 0
    return whole_on(purchase.rigs_per_day, day - d0)
