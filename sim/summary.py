"""Headline figures of a run (summary.csv), computed from the result tables.

The shock is the scenario's `shock_date`, else its first dated intervention (policy, pool
event or service withdrawal); the pre-shock hashrate is the mean of the 7 days before it (the
first 7 days if there is none). Troughs and recoveries use 7-day means, as observed hashrate
is compared.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim import kernels
from sim.kernels import F64
from sim.scenario import PowerOutage, Scenario
from sim.world import CHOICES

COLUMNS = ["replicate", "coin", "metric", "value", "unit", "date"]


def shock_date(scenario: Scenario) -> dt.date | None:
    """The scenario's `shock_date`, else its first intervention; None where that is not
    within the run (a run cut short before it: no shock, as without interventions)."""
    if scenario.shock_date is not None:
        inside_run = scenario.start <= scenario.shock_date <= scenario.end
        return scenario.shock_date if inside_run else None
    dates: list[dt.date] = [p.date for p in scenario.policies
                            if not (isinstance(p, PowerOutage) and p.over_before(scenario.start))]
    for pool in scenario.pools:
        for ev in pool.events:
            dates.append(ev.date - dt.timedelta(days=getattr(ev, "wind_down_days", 0)))
    for s in scenario.services:
        dates += [d for d in (s.stop_new_users, s.close) if d is not None]
    # an intervention dated before the start is in force from day 0 (docs/model.md)
    inside = [max(d, scenario.start) for d in dates if d <= scenario.end]
    return min(inside) if inside else None


def summarize(scenario: Scenario, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    network = tables["network"]
    reps, coins = network["replicate"].to_numpy(), network["coin"].to_numpy()
    dates, hashrate = network["date"].to_numpy(), network["hashrate_hs"].to_numpy()
    rows: list[dict] = []
    for rep in np.unique(reps):  # replicates in order, each one's coins in order of appearance
        for coin in dict.fromkeys(coins[reps == rep]):
            net = _rows_of(network, int(rep), str(coin))
            rows += _coin_metrics(scenario, tables, int(rep), str(coin), list(dates[net]),
                                  hashrate[net])
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(rep: int, coin: str, metric: str, value: float, unit: str,
         date: dt.date | None = None) -> dict:
    return {"replicate": rep, "coin": coin, "metric": metric, "value": float(value),
            "unit": unit, "date": date.isoformat() if date else ""}


# The tables are read as numpy arrays, not filtered as DataFrames: a summary is a few dozen
# figures from small tables, and pandas' overhead per operation would be most of its cost.

def _equal(column: pd.Series, value: object) -> NDArray[np.bool_]:
    """`column == value` as a numpy mask (a text column is compared without converting it)."""
    return np.asarray(column.array == value)


def _rows_of(table: pd.DataFrame, rep: int, coin: str) -> NDArray[np.bool_]:
    """The rows of `table` that are replicate `rep`'s, of `coin`."""
    return (table["replicate"].to_numpy() == rep) & _equal(table["coin"], coin)


def _coin_metrics(scenario: Scenario, tables: dict[str, pd.DataFrame], rep: int, coin: str,
                  dates: list[dt.date], hashrate: F64) -> list[dict]:
    # pandas' rolling mean, kept: a running sum with its own rounding (and so sim/backtest.py's)
    mean7 = pd.Series(hashrate).rolling(7, min_periods=1).mean().to_numpy()
    shock = shock_date(scenario)
    k = dates.index(shock) if shock in dates else 0
    pre = float(np.mean(hashrate[max(0, k - 7):k])) if k > 0 else float(np.mean(hashrate[:7]))
    trough_i = k + int(np.argmin(mean7[k:]))
    out = [
        _row(rep, coin, "pre_shock_hashrate", pre, "H/s", dates[k] if shock else None),
        _row(rep, coin, "trough_hashrate", mean7[trough_i], "H/s (7-day mean)",
             dates[trough_i]),
        _row(rep, coin, "drop", 100.0 * (1.0 - mean7[trough_i] / pre) if pre > 0 else 0.0,
             "%"),
    ]
    for level in (90, 100):
        after = np.flatnonzero(mean7[trough_i:] >= pre * level / 100.0)
        days = float(after[0]) if len(after) else float("nan")
        out.append(_row(rep, coin, f"days_to_recover_{level}", days, "days after trough",
                        dates[trough_i + int(after[0])] if len(after) else None))
    out += _retarget_metrics(tables["events"], rep, coin, scenario)
    out += _region_metrics(tables["regions"], rep, coin, sorted(scenario.leaf_regions))
    out += _pool_metrics(tables["pools"], rep, coin, dates[max(k - 1, 0)], dates[-1])
    flows = tables["flows"]
    moved = _sums(flows, _rows_of(flows, rep, coin), "destination", "rigs_departed")
    for dest in sorted(scenario.leaf_regions):  # every leaf, 0 where no rig went
        out.append(_row(rep, coin, f"relocated_rigs.{dest}", moved.get(dest, 0.0), "rigs"))
    decisions = tables.get("decisions")
    if decisions is not None and "choice" in decisions.columns:  # (none in a folder of an
        # earlier version)
        chose = _sums(decisions, _rows_of(decisions, rep, coin), "choice", "rigs")
        for choice in CHOICES:  # every choice, 0 where no rig made it
            out.append(_row(rep, coin, f"decided.{choice}", chose.get(choice, 0.0), "rigs"))
    return out


def _sums(table: pd.DataFrame, mine: NDArray[np.bool_], key: str, value: str
          ) -> dict[str, float]:
    """Column `value` of `table` summed by `key` over the rows where `mine` holds (a
    replicate's of one coin, :func:`_rows_of`; of its leaf regions, say): rigs departed by
    destination, decisions by choice, leaf regions' revenue. Counts of rigs are whole, so
    their sums in floating point are exact: those of the int64 column."""
    of, names = pd.factorize(table[key].to_numpy()[mine], use_na_sentinel=False)
    sums = np.bincount(of, weights=table[value].to_numpy()[mine], minlength=len(names))
    return dict(zip(names, sums, strict=True))


_PCT = re.compile(r"difficulty ([+-][0-9.]+)%")
_EPOCH_DAYS = re.compile(r"epoch of ([0-9.]+) days")


def retargets(events: pd.DataFrame, coin: str) -> pd.DataFrame:
    """The retargets of `coin` among `events` (one replicate's): date, pct change, epoch days.

    The figures are read back from the event text the engine writes (sim/engine.py).
    """
    dates, pct, epoch_days = _retargets(events, _equal(events["actor"], coin))
    return pd.DataFrame({"date": dates, "pct": pct, "epoch_days": epoch_days})


def _retargets(events: pd.DataFrame, rows: NDArray[np.bool_]
               ) -> tuple[list[dt.date], F64, F64]:
    """`retargets` of the retarget events among `events[rows]`."""
    rows = rows & _equal(events["kind"], "retarget")
    text = [str(t) for t in events["description"].array[rows]]
    dates = [d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
             for d in events["date"].array[rows]]
    return dates, _numbers(_PCT, text), _numbers(_EPOCH_DAYS, text)


def _numbers(pattern: re.Pattern[str], texts: list[str]) -> F64:
    """The number `pattern` finds in each text (its first match; NaN where none)."""
    found = [pattern.search(t) for t in texts]
    return np.array([float(m[1]) if m else np.nan for m in found], dtype=float)


def _retarget_metrics(events: pd.DataFrame, rep: int, coin: str, scenario: Scenario
                      ) -> list[dict]:
    dates, pct, _ = _retargets(events, (events["replicate"].to_numpy() == rep)
                               & _equal(events["actor"], coin))
    nan = float("nan")
    if not len(pct):  # an epoch-rule coin's run too short for one: the same metrics, empty
        rule = next((c.rule for c in scenario.coins if c.name == coin), None)
        if rule != "bitcoin":
            return []  # a tracking coin has no epochs to count
        return [_row(rep, coin, name, nan, "%") for name in
                ("largest_adjustment", "largest_upward_adjustment",
                 "largest_downward_adjustment")] + [_row(rep, coin, "retargets", 0, "count")]
    i = int(np.argmax(np.abs(pct)))  # the largest in size, either way (its sign kept)
    up, down = int(np.argmax(pct)), int(np.argmin(pct))
    return [_row(rep, coin, "largest_adjustment", pct[i], "%", dates[i]),
            _row(rep, coin, "largest_upward_adjustment", pct[up] if pct[up] > 0 else nan, "%",
                 dates[up] if pct[up] > 0 else None),
            _row(rep, coin, "largest_downward_adjustment", pct[down] if pct[down] < 0 else nan,
                 "%", dates[down] if pct[down] < 0 else None),
            _row(rep, coin, "retargets", len(pct), "count")]


def _region_metrics(regions: pd.DataFrame, rep: int, coin: str, leaf_names: list[str]
                    ) -> list[dict]:
    mine = _rows_of(regions, rep, coin)
    dates = regions["date"].to_numpy()[mine]
    last = np.flatnonzero(mine)[dates == dates.max()]
    out = [_row(rep, coin, f"final_share.{r}", s, "fraction")
           for r, s in zip(regions["region"].array[last], regions["share"].to_numpy()[last],
                           strict=True)]
    leaves = mine & ~regions["aggregate"].to_numpy()
    # np.nansum is Series.sum: NaN counted as 0, the rest summed pairwise by numpy
    out.append(_row(rep, coin, "energy", np.nansum(regions["energy_mwh"].to_numpy()[leaves]),
                    "MWh"))
    out.append(_row(rep, coin, "co2", np.nansum(regions["co2_t"].to_numpy()[leaves]), "t"))
    # who earned what: each leaf region's rewards and bills over the run (0 where none)
    for field, metric in (("revenue_usd", "revenue"), ("cost_usd", "cost")):
        total = _sums(regions, leaves, "region", field)
        out += [_row(rep, coin, f"{metric}.{r}", total.get(r, 0.0), "USD") for r in leaf_names]
    return out


def _pool_metrics(pools: pd.DataFrame, rep: int, coin: str, before: dt.date, after: dt.date
                  ) -> list[dict]:
    """Pool concentration the day before the shock and on the last day (a coin without pools
    has none: an HHI of 0 and a Nakamoto coefficient of 0)."""
    mine = _rows_of(pools, rep, coin)
    dates, shares = pools["date"].to_numpy()[mine], pools["share"].to_numpy()[mine]
    out = []
    for label, day in (("before", before), ("after", after)):
        on_day = shares[dates == day]
        out.append(_row(rep, coin, f"pool_hhi_{label}", kernels.hhi(on_day), "0-1", day))
        out.append(_row(rep, coin, f"nakamoto_{label}", kernels.nakamoto(on_day), "pools", day))
    return out
