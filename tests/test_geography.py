"""Region graph and routes: specificity, multi-hop paths, transit-time distributions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from sim.geography import (
    build_geography,
    draw_transit_days,
    transit_distribution,
    transit_pmf,
    whole_days,
)
from sim.rng import Streams
from sim.scenario import Route
from sim.world import build_world, whole_on
from tests.worlds import scenario, three_regions

ALPHA = 1e-3
TRANSITS = [
    {"distribution": "lognormal", "median_days": 30, "sigma": 0.5},
    {"distribution": "gamma", "mean_days": 12, "shape": 3},
    {"distribution": "uniform", "low_days": 5, "high_days": 20},
    {"distribution": "triangular", "low_days": 2, "mode_days": 5, "high_days": 30},
]


def _route(transit: dict) -> Route:
    return Route.model_validate({"origin": "a", "destination": "b", "transit": transit})


@pytest.mark.parametrize("transit", TRANSITS, ids=lambda t: t["distribution"])
def test_transit_draws_follow_the_configured_distribution(transit: dict) -> None:
    spec = _route(transit).transit
    days = draw_transit_days(spec, np.random.default_rng(5), 4000)
    assert stats.kstest(days, transit_distribution(spec).cdf).pvalue > ALPHA


@pytest.mark.parametrize("transit", TRANSITS, ids=lambda t: t["distribution"])
def test_whole_day_pmf_matches_draws(transit: dict) -> None:
    # Cohorts ship by a multinomial over this pmf; single rigs by ceil(draw): same law.
    spec = _route(transit).transit
    pmf = transit_pmf(spec)
    assert pmf.sum() == pytest.approx(1.0) and pmf[0] == 0.0
    days = whole_days(draw_transit_days(spec, np.random.default_rng(6), 20000))
    observed = np.bincount(np.minimum(days, len(pmf) - 1), minlength=len(pmf))
    keep = pmf * len(days) >= 5  # chi-square needs expected counts ≥ 5: pool the rest
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(pmf[keep], pmf[~keep].sum()) * len(days)
    obs, exp = obs[exp > 0], exp[exp > 0]
    assert stats.chisquare(obs, exp).pvalue > ALPHA


def test_fixed_transit() -> None:
    pmf = transit_pmf(_route({"distribution": "fixed", "days": 10}).transit)
    assert np.argmax(pmf) == 10 and pmf[10] == 1.0


def test_parent_routes_most_specific_wins_and_multi_hop() -> None:
    doc = three_regions()
    doc["regions"] = [
        {"name": "land", "electricity_usd_per_kwh": 0.05, "carbon_g_per_kwh": 1},
        {"name": "a", "parent": "land", "electricity_usd_per_kwh": 0.05, "carbon_g_per_kwh": 1},
        {"name": "a2", "parent": "land", "electricity_usd_per_kwh": 0.05, "carbon_g_per_kwh": 1},
        {"name": "b", "electricity_usd_per_kwh": 0.05, "carbon_g_per_kwh": 1},
        {"name": "c", "electricity_usd_per_kwh": 0.05, "carbon_g_per_kwh": 1},
    ]
    fixed = {"distribution": "fixed"}
    doc["routes"] = [
        {"origin": "land", "destination": "b", "transit": {**fixed, "days": 20},
         "cost_usd_per_rig": 100},
        {"origin": "a", "destination": "b", "transit": {**fixed, "days": 5},
         "cost_usd_per_rig": 10},
        {"origin": "b", "destination": "c", "transit": {**fixed, "days": 3},
         "cost_usd_per_rig": 1},
    ]
    doc["fleet"] = [{"region": "a", "hardware": "rig", "rigs": 10, "pool": "p1"}]
    geo = build_geography(scenario(doc))
    i = {n: k for k, n in enumerate(geo.names)}
    assert geo.mean_transit_days[i["a"], i["b"]] == 5  # the province's own route
    assert geo.mean_transit_days[i["a2"], i["b"]] == 20  # the country's route
    assert geo.mean_transit_days[i["a"], i["c"]] == 8  # via b: 5 + 3
    assert geo.cost_usd_per_rig[i["a2"], i["c"]] == 101
    assert not np.isfinite(geo.mean_transit_days[i["c"], i["a"]])  # no way back
    assert geo.covers[i["land"], i["a2"]] and not geo.is_leaf[i["land"]]


def test_a_direct_route_is_taken_even_where_a_path_through_others_is_shorter() -> None:
    """As the tutorial's Red → Blue sea freight against the rail through Green: the route
    the scenario gives for the pair applies (model.md); a path only where none does."""
    doc = three_regions()
    fixed = {"distribution": "fixed"}
    doc["routes"] = [
        {"origin": "a", "destination": "b", "transit": {**fixed, "days": 25},
         "cost_usd_per_rig": 250},
        {"origin": "a", "destination": "c", "transit": {**fixed, "days": 12},
         "cost_usd_per_rig": 120, "capacity_rigs_per_day": 400},
        {"origin": "c", "destination": "b", "transit": {**fixed, "days": 5},
         "cost_usd_per_rig": 150},
    ]
    geo = build_geography(scenario(doc))
    i = {n: k for k, n in enumerate(geo.names)}
    assert geo.mean_transit_days[i["a"], i["b"]] == 25
    assert geo.cost_usd_per_rig[i["a"], i["b"]] == 250
    assert [geo.routes[k].destination for k in geo.path_routes[i["a"]][i["b"]]] == ["b"]


def test_price_steps_replace_or_add_to_the_usual_price_from_their_dates() -> None:
    doc = three_regions()
    doc["regions"][0]["electricity_monthly_usd_per_kwh"] = [0.06] * 6 + [0.02] * 6
    doc["regions"][0]["electricity_schedule"] = [
        {"date": "2021-03-15", "surcharge_usd_per_kwh": 0.01},
        {"date": "2021-08-01", "usd_per_kwh": 0.1},
        {"date": "2021-10-01", "surcharge_usd_per_kwh": -0.02}]
    geo = build_geography(scenario(doc))
    a = geo.index("a")
    expected = {"2021-01-10": 0.06, "2021-03-14": 0.06, "2021-03-15": 0.07,
                "2021-07-31": 0.03, "2021-08-01": 0.1, "2021-09-30": 0.1,
                "2021-10-01": 0.0, "2022-02-01": 0.04}
    for day, price in expected.items():
        prices = geo.price_on(dt.date.fromisoformat(day))
        assert prices[a] == pytest.approx(price), day
        assert prices[geo.index("b")] == 0.05  # a region without steps keeps its price


@pytest.mark.parametrize("rates", [(None, 0.5), (1 / 3, 2.0), (0.7, None), (None, None)])
def test_route_rigs_on_is_whole_on_of_each_route(rates: tuple[float | None, ...]) -> None:
    """The whole rigs of every route at once are whole_on of each route's rate, bit for bit
    (inf where a route has no limit), day after day."""
    doc = three_regions()
    for route, rate in zip(doc["routes"], rates, strict=True):
        route["capacity_rigs_per_day"] = rate
    world = build_world(scenario(doc), Streams(1, 0))
    for day in [*range(40), 10_000]:
        expected = [np.inf if rate is None else float(whole_on(rate, day)) for rate in rates]
        assert world.route_rigs_on(day).tobytes() == np.array(expected).tobytes()
