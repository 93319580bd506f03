"""The region graph and its routes, compiled once into arrays the kernels read.

Regions form a forest through `parent` (province → country); rigs live in leaf regions and a
policy or route on a region covers its descendants. Routes are directed edges; between two leaf
regions the most specific route applies (a route between the regions themselves beats one
between their parents). Where no route applies directly, rigs follow the shortest path (by mean
transit time) and the hops' times add up.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
from dataclasses import dataclass

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from scipy import stats

from sim.scenario import MAX_TRANSIT_DAYS, Route, Scenario, Transit

#: Transit pmfs are cut where the distribution has 1e-4 left; that tail arrives on the last
#: day kept (a shorter support keeps cohorts in fewer rows).
TAIL = 1e-4


def transit_distribution(spec: Transit) -> stats.rv_continuous | stats.rv_discrete:
    """The scipy distribution of a route's transit time in days."""
    match spec.distribution:
        case "fixed":
            return stats.uniform(loc=spec.days, scale=0.0)  # a point mass
        case "uniform":
            return stats.uniform(loc=spec.low_days, scale=spec.high_days - spec.low_days)
        case "lognormal":
            return stats.lognorm(s=spec.sigma, scale=spec.median_days)
        case "gamma":
            return stats.gamma(a=spec.shape, scale=spec.mean_days / spec.shape)
        case "triangular":
            width = spec.high_days - spec.low_days
            return stats.triang(c=(spec.mode_days - spec.low_days) / width, loc=spec.low_days,
                                scale=width)
    raise AssertionError(spec)


def draw_transit_days(spec: Transit, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    """`n` continuous transit times in days."""
    if spec.distribution == "fixed":
        return np.full(n, spec.days)
    return np.asarray(transit_distribution(spec).rvs(size=n, random_state=rng), dtype=float)


def whole_days(days: NDArray[np.float64]) -> NDArray[np.int64]:
    """Days a shipment takes in daily ticks: ceil(T), at least one tick."""
    return np.maximum(1, np.ceil(days - 1e-9)).astype(np.int64)


def transit_pmf(spec: Transit) -> NDArray[np.float64]:
    """P(whole_days(T) = j) for j = 0, 1, …; entry 0 is always 0."""
    # (a batch world has each route once per copy: computed once per distinct spec)
    key = spec.model_dump_json()
    pmf = _PMFS.get(key)
    if pmf is None:
        if len(_PMFS) > 1024:
            _PMFS.clear()
        pmf = _PMFS[key] = _transit_pmf(spec)
    return pmf.copy()


_PMFS: dict[str, NDArray[np.float64]] = {}


def _transit_pmf(spec: Transit) -> NDArray[np.float64]:
    if spec.distribution == "fixed":
        j = int(whole_days(np.array([spec.days]))[0])
        pmf = np.zeros(j + 1)
        pmf[j] = 1.0
        return pmf
    dist = transit_distribution(spec)
    top = int(min(MAX_TRANSIT_DAYS, max(1.0, np.ceil(dist.isf(TAIL)))))
    cdf = dist.cdf(np.arange(top + 1, dtype=float))
    pmf = np.diff(cdf, prepend=0.0)
    pmf[1] += pmf[0]  # T ≤ 0 → one tick
    pmf[0] = 0.0
    pmf[top] += 1.0 - cdf[top]
    return pmf / pmf.sum()


@dataclass(frozen=True)
class Geography:
    """Regions and routes as arrays. `R` = number of regions (all levels)."""

    names: list[str]
    parent_idx: NDArray[np.intp]  # (R,) −1 for roots
    is_leaf: NDArray[np.bool_]  # (R,)
    country_idx: NDArray[np.intp]  # (R,) root ancestor
    covers: NDArray[np.bool_]  # (R, R): covers[a, r] if r is a or a descendant of a
    electricity_usd_per_kwh: NDArray[np.float64]  # (12, R) by month
    electricity_spread_usd_per_kwh: NDArray[np.float64]  # (R,) half-width among sites
    carbon_g_per_kwh: NDArray[np.float64]  # (R,)
    base_risk: NDArray[np.float64]  # (R,)
    path_routes: list[list[list[int]]]  # [o][d] -> route indices along the path ([] none)
    routes: list[Route]
    route_pmfs: list[NDArray[np.float64]]  # per route: pmf of whole transit days
    pair_pmf: dict[tuple[int, int], NDArray[np.float64]]  # (o, d) leaf pairs with a path
    mean_transit_days: NDArray[np.float64]  # (R, R), inf where unreachable
    cost_usd_per_rig: NDArray[np.float64]  # (R, R), inf where unreachable
    # regions with dated price changes: (region, step dates, the price from each date or
    # nan, the surcharge on the usual price from each date or 0)
    price_steps: tuple[tuple[int, list[dt.date], list[float], list[float]], ...] = ()

    @property
    def num_regions(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self._positions[name]

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    def reachable(self) -> NDArray[np.bool_]:
        return np.isfinite(self.mean_transit_days)

    def price_on(self, day: dt.date) -> NDArray[np.float64]:
        """Each region's power price on `day` (R,): its flat or monthly price, or what its
        latest dated step (`electricity_schedule`) makes of it."""
        price = self.electricity_usd_per_kwh[day.month - 1]
        if not self.price_steps:
            return price
        price = price.copy()
        for r, dates, level, surcharge in self.price_steps:
            k = bisect.bisect_right(dates, day) - 1
            if k >= 0:
                price[r] = price[r] + surcharge[k] if np.isnan(level[k]) else level[k]
        return price


def build_geography(scenario: Scenario) -> Geography:
    names = [r.name for r in scenario.regions]
    idx = {n: i for i, n in enumerate(names)}
    num = len(names)
    parent = np.array([idx[r.parent] if r.parent else -1 for r in scenario.regions], dtype=np.intp)
    covers = np.eye(num, dtype=bool)
    for r in range(num):
        a = parent[r]
        while a >= 0:
            covers[a, r] = True
            a = parent[a]
    is_leaf = ~np.isin(np.arange(num), parent)
    country = np.array([_root(parent, r) for r in range(num)], dtype=np.intp)
    elec = np.empty((12, num))
    for r, reg in enumerate(scenario.regions):
        monthly = reg.electricity_monthly_usd_per_kwh
        elec[:, r] = monthly if monthly is not None else reg.electricity_usd_per_kwh
    price_steps = tuple(
        (r, [st.date for st in reg.electricity_schedule],
         [np.nan if st.usd_per_kwh is None else st.usd_per_kwh
          for st in reg.electricity_schedule],
         [st.surcharge_usd_per_kwh or 0.0 for st in reg.electricity_schedule])
        for r, reg in enumerate(scenario.regions) if reg.electricity_schedule)
    routes = list(scenario.routes)
    route_pmfs = [transit_pmf(rt.transit) for rt in routes]
    paths, mean_days, cost, pair_pmf = _compile_routes(names, idx, covers, is_leaf, routes,
                                                       route_pmfs)
    return Geography(
        names=names, parent_idx=parent, is_leaf=is_leaf, country_idx=country, covers=covers,
        electricity_usd_per_kwh=elec,
        electricity_spread_usd_per_kwh=np.array(
            [r.electricity_spread_usd_per_kwh for r in scenario.regions]),
        carbon_g_per_kwh=np.array([r.carbon_g_per_kwh for r in scenario.regions]),
        base_risk=np.array([r.risk for r in scenario.regions]),
        path_routes=paths, routes=routes, route_pmfs=route_pmfs, pair_pmf=pair_pmf,
        mean_transit_days=mean_days, cost_usd_per_rig=cost, price_steps=price_steps,
    )


def _root(parent: NDArray[np.intp], r: int) -> int:
    while parent[r] >= 0:
        r = int(parent[r])
    return r


def _specificity(covers: NDArray[np.bool_], a: int, r: int) -> int:
    """How close ancestor-or-self `a` is to `r` (higher is closer)."""
    return int(covers[:, a].sum())  # depth of a: the number of its ancestors-or-self


def _compile_routes(
    names: list[str], idx: dict[str, int], covers: NDArray[np.bool_], is_leaf: NDArray[np.bool_],
    routes: list[Route], pmfs: list[NDArray[np.float64]],
) -> tuple[list[list[list[int]]], NDArray[np.float64], NDArray[np.float64],
           dict[tuple[int, int], NDArray[np.float64]]]:
    num = len(names)
    leaves = np.flatnonzero(is_leaf)
    # The direct route between each pair of leaves: the most specific route covering both.
    best: dict[tuple[int, int], tuple[tuple[int, int], int]] = {}
    for k, rt in enumerate(routes):
        ends = [(idx[rt.origin], idx[rt.destination])]
        if rt.bidirectional:
            ends.append((idx[rt.destination], idx[rt.origin]))
        for a, b in ends:
            for o in leaves[covers[a, leaves]]:
                for d in leaves[covers[b, leaves]]:
                    if o == d:
                        continue
                    rank = (_specificity(covers, a, o), _specificity(covers, b, d))
                    if (o, d) not in best or rank > best[(o, d)][0]:
                        best[(o, d)] = (rank, k)
    graph = nx.DiGraph()
    graph.add_nodes_from(int(i) for i in leaves)
    means = [float(np.dot(np.arange(len(p)), p)) for p in pmfs]
    for (o, d), (_, k) in best.items():
        graph.add_edge(int(o), int(d), weight=means[k], route=k)
    # (a batch world's regions are many: the pairs without a path share one empty list)
    none: list[int] = []
    paths: list[list[list[int]]] = [[none] * num for _ in range(num)]
    mean_days = np.full((num, num), np.inf)
    cost = np.full((num, num), np.inf)
    pair_pmf: dict[tuple[int, int], NDArray[np.float64]] = {}
    for o, targets in nx.all_pairs_dijkstra_path(graph, weight="weight"):
        for d, nodes in targets.items():
            if o == d:
                continue
            if (o, d) in best:  # a route applies directly: it is taken, even if slower
                hops = [best[(o, d)][1]]
            else:
                hops = [graph.edges[u, v]["route"] for u, v in itertools.pairwise(nodes)]
            paths[o][d] = hops
            pmf = pmfs[hops[0]]
            for h in hops[1:]:
                pmf = np.convolve(pmf, pmfs[h])
            pair_pmf[(o, d)] = pmf
            mean_days[o, d] = float(np.dot(np.arange(len(pmf)), pmf))
            cost[o, d] = sum(routes[h].cost_usd_per_rig for h in hops)
    return paths, mean_days, cost, pair_pmf
