"""Backtests: a run held against the observed figures of its scenario's `observed:` section.

Each check is evaluated on every replicate; the table reports the median and the 5–95 % range
across replicates, and the band test uses the median. Error metrics: MAPE over the numeric
headline and secondary checks with an observed value (info rows are context: a retarget
observed at +0.2 % would dominate it), NRMSE of the simulated 7-day-mean hashrate against the
observed series (normalised by the observed mean), and hits/misses of the stated bands.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import HashsimError
from sim.scenario import (
    AdjustmentCheck,
    BlockTimeCheck,
    ChangeCheck,
    Check,
    HashrateCheck,
    Observed,
    RecoveryCheck,
    Scenario,
    ShareCheck,
    TroughCheck,
)
from sim.summary import retargets

TIER_WEIGHTS = {"headline": 1.0, "secondary": 0.3, "info": 0.0}
COLUMNS = ["check", "tier", "metric", "date", "unit", "observed", "low", "high", "simulated",
           "simulated_p05", "simulated_p95", "within_band", "error", "abs_pct_error", "source",
           "replicates_missing"]

#: Shown for a date that more than half of the replicates do not reach within the run.
NOT_REACHED = "not reached"


@dataclass
class Replicate:
    """One replicate's tables, with the 7-day-mean hashrate indexed by date."""

    network: pd.DataFrame
    regions: pd.DataFrame
    pools: pd.DataFrame
    events: pd.DataFrame
    mean7: pd.Series

    def mean7_on(self, day: dt.date) -> float:
        if day not in self.mean7.index:
            return float("nan")
        return float(self.mean7.loc[day])


def replicates(tables: dict[str, pd.DataFrame], coin: str) -> list[Replicate]:
    out = []
    net_all = tables["network"]
    for rep in sorted(net_all["replicate"].unique()):
        net = net_all[(net_all["replicate"] == rep) & (net_all["coin"] == coin)]
        mean7 = pd.Series(net["hashrate_hs"].rolling(7, min_periods=1).mean().to_numpy(),
                          index=pd.Index([_as_date(d) for d in net["date"]]))
        pick = {n: tables[n][tables[n]["replicate"] == rep] for n in ("regions", "pools",
                                                                      "events")}
        out.append(Replicate(net, pick["regions"], pick["pools"], pick["events"], mean7))
    return out


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _ordinal(day: dt.date | None) -> float:
    return float(day.toordinal()) if day else float("nan")


def _nearest_retarget(rep: Replicate, coin: str, day: dt.date, window: float
                      ) -> pd.Series | None:
    rt = retargets(rep.events, coin)
    if not len(rt):
        return None
    gap = np.array([abs((d - day).days) for d in rt["date"]])
    i = int(np.argmin(gap))
    return rt.iloc[i] if gap[i] <= window else None


def simulate(check: Check, rep: Replicate, coin: str, epoch_blocks: int) -> float:
    """The simulated counterpart of `check` in one replicate (dates as ordinals); a
    difficulty epoch of the coin is `epoch_blocks` blocks."""
    match check:
        case HashrateCheck():
            return rep.mean7_on(check.date)
        case TroughCheck():
            window = rep.mean7[(rep.mean7.index >= check.window_start)
                               & (rep.mean7.index <= check.window_end)]
            return float(window.min()) if len(window) else float("nan")
        case AdjustmentCheck():
            rt = _nearest_retarget(rep, coin, check.date, check.window_days)
            return float(rt["pct"]) if rt is not None else float("nan")
        case BlockTimeCheck():
            rt = _nearest_retarget(rep, coin, check.date, check.window_days)
            return (float(rt["epoch_days"]) * 86400 / epoch_blocks if rt is not None
                    else float("nan"))
        case RecoveryCheck():
            level = rep.mean7_on(check.reference)
            after = rep.mean7[rep.mean7.index > check.after]
            hit = after.index[after.to_numpy() >= level]
            return _ordinal(hit[0]) if len(hit) else float("nan")
        case ShareCheck():
            return _share(check, rep, coin)
        case ChangeCheck():
            a, b = rep.mean7_on(check.start), rep.mean7_on(check.end)
            return 100.0 * (b / a - 1.0) if a > 0 else float("nan")
    raise AssertionError(check)


def trough_date(check: TroughCheck, rep: Replicate) -> float:
    window = rep.mean7[(rep.mean7.index >= check.window_start)
                       & (rep.mean7.index <= check.window_end)]
    return _ordinal(_as_date(window.idxmin())) if len(window) else float("nan")


def _share(check: ShareCheck, rep: Replicate, coin: str) -> float:
    if check.metric == "region_share":
        t = rep.regions[(rep.regions["region"] == check.name) & (rep.regions["coin"] == coin)]
        key = "region"
    else:
        t, key = rep.pools[rep.pools["pool"] == check.name], "pool"
    row = t[[_as_date(d) == check.date for d in t["date"]]]
    if not len(row):
        raise HashsimError(f"check '{check.id or check.metric}': no {key} '{check.name}' on "
                           f"{check.date} in the results")
    return float(row["share"].iloc[0])


def _unit(check: Check) -> str:
    return {"hashrate": "H/s", "trough": "H/s", "difficulty_adjustment": "%",
            "epoch_block_time": "s", "recovery": "date", "region_share": "fraction",
            "pool_share": "fraction", "hashrate_change": "%"}[check.metric]


def _row(check: Check, values: np.ndarray, observed: float, low: float | None,
         high: float | None, unit: str, date: str, censored: bool = False) -> dict:
    """The table row of one check from its value in each replicate (NaN: no value).

    `censored`: a missing value is a date the replicate did not reach within the run, so it
    counts as later than every date in it (a recovery). Otherwise a missing value is unknown,
    and the median is taken over the replicates that have one — only if more than half do;
    else there is no simulated value and a banded check is missed."""
    missing = int(np.count_nonzero(~np.isfinite(values)))
    if censored:
        ranked = np.where(np.isfinite(values), values, np.inf)
        med = float(np.median(ranked)) if len(ranked) else float("nan")
        with np.errstate(invalid="ignore"):  # inf − inf between two unreached replicates
            spread = np.percentile(ranked, [5, 95]) if len(ranked) else [np.nan, np.nan]
        p05, p95 = (float(v) if not np.isnan(v) else np.inf for v in spread)
    else:
        finite = values[np.isfinite(values)]
        enough = 2 * len(finite) > len(values)
        med = float(np.median(finite)) if enough else float("nan")
        p05, p95 = (np.percentile(finite, [5, 95]) if len(finite) else (np.nan, np.nan))
    inside = bool(np.isfinite(med) and (low is None or med >= low)
                  and (high is None or med <= high))
    error = med - observed if np.isfinite(observed) and np.isfinite(med) else float("nan")
    ape = abs(error / observed) * 100 if np.isfinite(observed) and observed != 0 and \
        unit not in ("date",) else float("nan")
    if low is None and high is None:
        inside_out: bool | None = None
    else:
        inside_out = inside
    label = check.id or check.metric
    to_text = _date_text if unit == "date" else (lambda v: v)
    if check.tier == "info":
        inside_out = None
    return {"check": label, "tier": check.tier, "metric": check.metric, "date": date,
            "unit": unit,
            "observed": to_text(observed), "low": to_text(low), "high": to_text(high),
            "simulated": to_text(med), "simulated_p05": to_text(float(p05)),
            "simulated_p95": to_text(float(p95)), "within_band": inside_out,
            "error": error,  # in days for dates
            "abs_pct_error": ape, "source": check.source, "replicates_missing": missing}


def _date_text(value: float | None) -> str | float | None:
    if value is not None and value == np.inf:
        return NOT_REACHED
    if value is None or not np.isfinite(value):
        return value
    return dt.date.fromordinal(round(value)).isoformat()


#: The fields of each kind of check that name a day of the run to be read (observed dates
#: and bands are not: a recovery may be observed after the run ends).
_RUN_DATES = {"hashrate": ("date",), "trough": ("window_start", "window_end"),
              "difficulty_adjustment": ("date",), "epoch_block_time": ("date",),
              "recovery": ("reference", "after"), "region_share": ("date",),
              "pool_share": ("date",), "hashrate_change": ("start", "end")}


def outside_run(scenario: Scenario) -> None:
    """Refuse checks that read days outside the run (before `start` or after `end`): such a
    check could only be missed, or fail later, after all the runs."""
    if scenario.observed is None:
        return
    bad = []
    for check in scenario.observed.checks:
        for name in _RUN_DATES[check.metric]:
            day = getattr(check, name)
            if not scenario.start <= day <= scenario.end:
                bad.append(f"{check.id or check.metric} ({name} {day})")
    if bad:
        raise HashsimError(
            f"{len(bad)} check(s) read days outside the run ({scenario.start} … "
            f"{scenario.end}): {', '.join(bad[:6])}{' …' if len(bad) > 6 else ''}; run "
            "longer (--set end=…) or remove those checks from `observed:`")


def evaluate(scenario: Scenario, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per check (trough and recovery dates get a row of their own)."""
    obs = _observed(scenario)
    reps = replicates(tables, obs.coin)
    epoch = next(c.retarget_blocks for c in scenario.coins if c.name == obs.coin)
    rows = []
    for check in obs.checks:
        values = np.array([simulate(check, r, obs.coin, epoch) for r in reps])
        if isinstance(check, RecoveryCheck):
            rows.append(_row(check, values, _ordinal(check.date), _ordinal(check.date_low),
                             _ordinal(check.date_high), "date", str(check.reference),
                             censored=True))
            continue
        observed = float("nan") if check.value is None else float(check.value)
        where = str(getattr(check, "date", None) or getattr(check, "window_start", ""))
        if isinstance(check, ChangeCheck):
            where = f"{check.start}→{check.end}"
        rows.append(_row(check, values, observed, check.low, check.high, _unit(check), where))
        if isinstance(check, TroughCheck) and (check.date or check.date_low or check.date_high):
            days = np.array([trough_date(check, r) for r in reps])
            dated = check.model_copy(update={"id": f"{check.id or 'trough'} date"})
            rows.append(_row(dated, days, _ordinal(check.date), _ordinal(check.date_low),
                             _ordinal(check.date_high), "date", where))
    return pd.DataFrame(rows, columns=COLUMNS)


def _observed(scenario: Scenario) -> Observed:
    if scenario.observed is None or not (scenario.observed.checks or scenario.observed.hashrate):
        raise HashsimError(f"scenario '{scenario.name}' has no `observed:` figures to hold "
                           "the run against")
    return scenario.observed


def nrmse(scenario: Scenario, tables: dict[str, pd.DataFrame]) -> float:
    """Root-mean-square error of the median simulated 7-day mean at the observed dates,
    divided by the observed mean (NaN without an observed series)."""
    obs = _observed(scenario)
    if not obs.hashrate:
        return float("nan")
    reps = replicates(tables, obs.coin)
    sim = np.array([[r.mean7_on(p.date) for p in obs.hashrate] for r in reps])
    med = np.nanmedian(sim, axis=0)
    truth = np.array([p.hashrate_hs for p in obs.hashrate])
    ok = np.isfinite(med)
    if not ok.any():
        return float("nan")
    return float(np.sqrt(np.mean((med[ok] - truth[ok]) ** 2)) / truth[ok].mean())


def scores(table: pd.DataFrame, scenario: Scenario, tables: dict[str, pd.DataFrame]
           ) -> dict[str, float]:
    """Counts of bands held and missed (overall and for headline checks), MAPE, NRMSE."""
    banded = table.dropna(subset=["within_band"])
    held = banded["within_band"].astype(bool)
    ape = table.loc[table["tier"] != "info", "abs_pct_error"].astype(float).to_numpy()
    headline = banded["tier"] == "headline"
    return {
        "checks": len(table),  # counts are whole numbers (backtest_scores.csv)
        "banded": len(banded),
        "hits": int(held.sum()),
        "misses": int((~held).sum()),
        "headline_banded": int(headline.sum()),
        "headline_misses": int((~held & headline).sum()),
        "mape_pct": float(np.nanmean(ape)) if np.isfinite(ape).any() else float("nan"),
        "nrmse": nrmse(scenario, tables),
    }


def objective(scenario: Scenario, tables: dict[str, pd.DataFrame]) -> float:
    """What calibration minimises: the weighted mean squared distance of each banded check
    from its band's centre in half-widths (so a figure at the band's edge scores 1; headline
    checks weigh 1, secondary ones 0.3, info ones nothing), plus NRMSE² of the hashrate
    series. A check the run cannot evaluate scores 25 (5 half-widths)."""
    table = evaluate(scenario, tables)
    terms: list[float] = []
    weights: list[float] = []
    for _, row in table.iterrows():
        weight = TIER_WEIGHTS[row["tier"]]
        if weight == 0.0:
            continue
        before = len(terms)
        convert = _to_ord if row["unit"] == "date" else _num
        low, high, sim = convert(row["low"]), convert(row["high"]), convert(row["simulated"])
        if low is None and high is None:
            continue
        if sim is None:
            terms.append(25.0)
        elif low is None or high is None:
            # a one-sided band: no cost inside; outside, distance in tenths of the bound
            bound = low if low is not None else high
            width = max(abs(bound) * 0.1, 1e-12)  # type: ignore[arg-type]
            miss = (bound - sim) if low is not None else (sim - bound)  # type: ignore[operator]
            terms.append(max(miss / width, 0.0) ** 2)
        else:
            centre, half = (low + high) / 2, max((high - low) / 2, 1e-12)
            terms.append(((sim - centre) / half) ** 2)
        weights += [weight] * (len(terms) - before)
    err = nrmse(scenario, tables)
    mean = float(np.average(terms, weights=weights)) if terms else 0.0
    return mean + (err**2 if np.isfinite(err) else 0.0)


def _num(value: object) -> float | None:
    """A finite float, or None for a missing value (None or NaN)."""
    if value is None:
        return None
    x = float(value)  # type: ignore[arg-type]
    return x if np.isfinite(x) else None


def _to_ord(value: object) -> float | None:
    if value is None or value == NOT_REACHED or (isinstance(value, float)
                                                 and not np.isfinite(value)):
        return None
    return float(dt.date.fromisoformat(str(value)).toordinal())
