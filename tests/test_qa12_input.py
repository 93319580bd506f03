"""QA pass 12, bad input to the newest parts: power prices, decisions.csv, and what compare,
plot and report make of them. Each test pins a defect this pass found (a traceback, a silent
nonsense result or a false message), fixed beside it.

Runs are the tutorial world cut to a few months, in process: about a second each.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import sim
from sim.errors import ScenarioError
from tests.test_experiments import TUTORIAL

# ---------------------------------------------------------------------------- power prices


@pytest.mark.parametrize("override", [
    "regions.highland.electricity_usd_per_kwh=1e308",
    "regions.highland.electricity_monthly_usd_per_kwh=[1e308,1,1,1,1,1,1,1,1,1,1,1]",
    "regions.highland.electricity_schedule=[{date: 2021-03-01, usd_per_kwh: 1e308}]",
    "regions.highland.electricity_schedule=[{date: 2021-03-01, surcharge_usd_per_kwh: 1e308}]",
    "regions.highland.electricity_spread_usd_per_kwh=1e308",
])
def test_a_power_price_that_overflows_the_cost_is_refused(override: str) -> None:
    """A price of 1e308 USD/kWh passed validation and ran: a rig's daily cost overflowed to
    inf, its margin to NaN (RuntimeWarnings), its rigs stayed online whatever they cost and
    regions.csv held cost_usd = inf. Prices are bounded as a coin's are (MAX_PRICE_USD)."""
    with pytest.raises(ScenarioError) as caught:
        sim.load(TUTORIAL, [override])
    (issue,) = caught.value.issues
    field = override.split("=")[0].split(".")[-1]
    assert field in issue.dotted_path or "electricity_schedule" in issue.dotted_path
    assert "≤ 1000" in issue.message and issue.file.startswith("--set")


def test_a_dear_but_finite_price_runs_with_finite_costs() -> None:
    res = sim.run(sim.load(TUTORIAL, [
        "end=2021-03-31", "regions.highland.electricity_schedule=[{date: 2021-02-01, "
        "usd_per_kwh: 1000}]", "regions.plains.electricity_spread_usd_per_kwh=1000"]), seed=1)
    regions = res.regions
    assert np.isfinite(regions["cost_usd"]).all()
    highland = regions[(regions["region"] == "highland")
                       & (regions["date"] >= dt.date(2021, 2, 2))]
    assert (highland["rigs_online"] == 0).all()  # nobody mines at 1,000 USD/kWh
