"""Headline figures of a run (summary.csv), computed from the result tables.

The shock is the scenario's `shock_date`, else its first dated intervention (policy, pool
event or service withdrawal); the pre-shock hashrate is the mean of the 7 days before it (the
first 7 days if there is none). Troughs and recoveries use 7-day means, as observed hashrate
is compared.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim import kernels
from sim.scenario import PowerOutage, Scenario

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
    rows: list[dict] = []
    for rep, net_rep in tables["network"].groupby("replicate", sort=True):
        for coin, net in net_rep.groupby("coin", sort=False):
            rows += _coin_metrics(scenario, tables, int(str(rep)), str(coin), net)
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(rep: int, coin: str, metric: str, value: float, unit: str,
         date: dt.date | None = None) -> dict:
    return {"replicate": rep, "coin": coin, "metric": metric, "value": float(value),
            "unit": unit, "date": date.isoformat() if date else ""}


def _coin_metrics(scenario: Scenario, tables: dict[str, pd.DataFrame], rep: int, coin: str,
                  net: pd.DataFrame) -> list[dict]:
    dates = list(net["date"])
    mean7 = net["hashrate_hs"].rolling(7, min_periods=1).mean().to_numpy()
    shock = shock_date(scenario)
    k = dates.index(shock) if shock in dates else 0
    pre = float(np.mean(net["hashrate_hs"].to_numpy()[max(0, k - 7):k])) if k > 0 else \
        float(np.mean(net["hashrate_hs"].to_numpy()[:7]))
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
    out += _region_metrics(tables["regions"], rep, coin)
    out += _pool_metrics(tables["pools"], rep, coin, dates[max(k - 1, 0)])
    flows = tables["flows"]
    mine = (flows["replicate"] == rep) & (flows["coin"] == coin) if len(flows) else None
    moved = (flows[mine].groupby("destination")["rigs_departed"].sum()
             if mine is not None else pd.Series(dtype=float))
    for dest in sorted(scenario.leaf_regions):  # every leaf, 0 where no rig went
        out.append(_row(rep, coin, f"relocated_rigs.{dest}", float(moved.get(dest, 0.0)),
                        "rigs"))
    return out


def retargets(events: pd.DataFrame, coin: str) -> pd.DataFrame:
    """The retargets of `coin` among `events` (one replicate's): date, pct change, epoch days.

    The figures are read back from the event text the engine writes (sim/engine.py).
    """
    ev = events[(events["kind"] == "retarget") & (events["actor"] == coin)]
    text = ev["description"].astype(str)
    return pd.DataFrame({
        "date": [d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
                 for d in ev["date"]],
        "pct": text.str.extract(r"difficulty ([+-][0-9.]+)%")[0].astype(float).to_numpy(),
        "epoch_days": text.str.extract(r"epoch of ([0-9.]+) days")[0].astype(float).to_numpy(),
    })


def _retarget_metrics(events: pd.DataFrame, rep: int, coin: str, scenario: Scenario
                      ) -> list[dict]:
    rt = retargets(events[events["replicate"] == rep], coin)
    nan = float("nan")
    if not len(rt):  # an epoch-rule coin's run too short for one: the same metrics, empty
        rule = next((c.rule for c in scenario.coins if c.name == coin), None)
        if rule != "bitcoin":
            return []  # a tracking coin has no epochs to count
        return [_row(rep, coin, name, nan, "%") for name in
                ("largest_adjustment", "largest_upward_adjustment",
                 "largest_downward_adjustment")] + [_row(rep, coin, "retargets", 0, "count")]
    pct = rt["pct"].to_numpy()
    i = int(np.argmax(np.abs(pct)))  # the largest in size, either way (its sign kept)
    up, down = int(np.argmax(pct)), int(np.argmin(pct))
    return [_row(rep, coin, "largest_adjustment", pct[i], "%", rt["date"].iloc[i]),
            _row(rep, coin, "largest_upward_adjustment", pct[up] if pct[up] > 0 else nan, "%",
                 rt["date"].iloc[up] if pct[up] > 0 else None),
            _row(rep, coin, "largest_downward_adjustment", pct[down] if pct[down] < 0 else nan,
                 "%", rt["date"].iloc[down] if pct[down] < 0 else None),
            _row(rep, coin, "retargets", len(rt), "count")]


def _region_metrics(regions: pd.DataFrame, rep: int, coin: str) -> list[dict]:
    reg = regions[(regions["replicate"] == rep) & (regions["coin"] == coin)]
    last = reg[reg["date"] == reg["date"].max()]
    out = [_row(rep, coin, f"final_share.{r}", s, "fraction")
           for r, s in zip(last["region"], last["share"], strict=True)]
    leaves = reg[~reg["aggregate"]]
    out.append(_row(rep, coin, "energy", leaves["energy_mwh"].sum(), "MWh"))
    out.append(_row(rep, coin, "co2", leaves["co2_t"].sum(), "t"))
    return out


def _pool_metrics(pools: pd.DataFrame, rep: int, coin: str, before: dt.date) -> list[dict]:
    p = pools[(pools["replicate"] == rep) & (pools["coin"] == coin)]
    out = []
    for label, day in (("before", before), ("after", p["date"].max())):
        shares = p.loc[p["date"] == day, "share"].to_numpy()
        out.append(_row(rep, coin, f"pool_hhi_{label}", kernels.hhi(shares), "0-1", day))
        out.append(_row(rep, coin, f"nakamoto_{label}", kernels.nakamoto(shares), "pools", day))
    return out
