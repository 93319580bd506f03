"""What a figure shows of a run: bands over members, stacked means, markers, flows, books.

Each function turns the long tables of a :class:`~sim.rundata.RunData` into the frame one chart
draws: median and 5–95 % bands over an arm's members, means for stacked charts, dated policy
markers, the observed overlay. The matplotlib figures (`sim.plots`) and the interactive report
(`sim.report`) both draw from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from sim.rundata import MEMBER, RunData, usd_scale

#: Event kinds drawn as dated markers on time axes (the timeline in the report shows all).
MARKER_KINDS = {
    "announcement": "announcement", "mining_ban": "ban", "power_cutoff": "power cut",
    "power_outage": "outage", "power_restored": "power back",
    "pool_service_ban": "pool ban", "exchange_ban": "exchange ban", "incentive": "incentive",
    "lift": "lifted", "pool_stop_new_users": "stops new users",
    "pool_stop_service": "stops serving", "pool_wind_down": "winds down",
    "pool_shutdown": "shuts down", "service_stop_new_users": "stops new users",
    "service_close": "closes accounts",
}

#: Rows a bar chart of regions or origin → destination pairs shows at most.
MOST_ROWS = 15


@dataclass(frozen=True)
class Marker:
    """A dated policy marker: a short label for the axis and the full text for hovering."""

    date: pd.Timestamp
    label: str
    text: str


def bands(df: pd.DataFrame, value: str, by: Sequence[str] = ()) -> pd.DataFrame:
    """Median and 5–95 % band of `value` over members, per arm, `by` and date.

    Returns columns arm, *by, date, lo, mid, hi (rows sorted by date).
    """
    keys = ["arm", *by, "date"]
    if not len(df):
        return pd.DataFrame(columns=[*keys, "lo", "mid", "hi"])
    q = df.groupby(keys, sort=True)[value].quantile(np.array([0.05, 0.5, 0.95])).unstack()
    q.columns = ["lo", "mid", "hi"]
    return q.reset_index()


def member_sum(df: pd.DataFrame, value: str | list[str], by: Sequence[str] = ()
               ) -> pd.DataFrame:
    """Sum `value` per member, arm, `by` and date (e.g. over regions)."""
    keys = ["arm", *MEMBER, *by, "date"]
    return df.groupby(keys, sort=True)[value].sum().reset_index()


def rolling_mean(df: pd.DataFrame, value: str, days: int, by: Sequence[str] = ()
                 ) -> pd.DataFrame:
    """A trailing `days`-day mean of `value` within each member (and `by` group)."""
    keys = ["arm", *MEMBER, *by]
    out = df.sort_values([*keys, "date"]).copy()
    out[value] = out.groupby(keys, sort=False)[value].transform(
        lambda s: s.rolling(days, min_periods=1).mean())
    return out


def stack_means(df: pd.DataFrame, value: str, key: str, arm: str) -> pd.DataFrame:
    """Mean of `value` over one arm's members as a date × `key` frame (for stacked charts).

    Columns follow :func:`key_order` of the whole table, so every arm stacks alike.
    """
    part = df[df["arm"] == arm]
    if not len(part):
        return pd.DataFrame()
    wide = part.groupby(["date", key], sort=True)[value].mean().unstack(key).fillna(0.0)
    return wide.reindex(columns=[k for k in key_order(df, value, key) if k in wide.columns])


def status_columns(leaves: pd.DataFrame) -> list[str]:
    """The ``rigs_<status>`` columns of `leaves` (regions.csv's rows), in STATUSES' order."""
    from sim.plot_style import STATUSES

    return [f"rigs_{s}" for s in STATUSES if f"rigs_{s}" in leaves.columns]


def status_means(leaves: pd.DataFrame, arm: str, by: Sequence[str] = ()) -> pd.DataFrame:
    """Rigs by status for stacked charts: each :func:`status_columns` column summed over a
    member's rows of a date (every region, coin and hardware; or every one of a `by` group),
    then the mean over `arm`'s members. A ([*by,] date) × column frame, empty for an arm
    without rows."""
    cols = status_columns(leaves)
    per = member_sum(leaves[leaves["arm"] == arm], cols, by)
    return per.groupby([*by, "date"], sort=True)[cols].mean()


def key_order(df: pd.DataFrame, value: str, key: str) -> list[str]:
    """Keys (regions, pools) by their mean `value` on the first date, largest first."""
    if not len(df):
        return []
    first = df[df["date"] == df["date"].min()]
    mean = first.groupby(key, sort=True)[value].mean().sort_values(ascending=False,
                                                                   kind="stable")
    seen = list(mean.index)
    return seen + sorted(set(df[key]) - set(seen))


def observed_hashrate(data: RunData, coin: str) -> pd.DataFrame | None:
    """Observed network hashrate (``scenario.observed.hashrate``) for `coin` over the run's
    dates, if any.

    Entries are ``{date, hashrate_hs}``, optionally with ``coin``; entries without a coin
    belong to the scenario's first coin. Entries outside the run are left out: a scenario's
    series covers its full period, and a run cut short (``--set end=…``) would otherwise get
    its date axis stretched to the series' end.
    """
    observed = data.scenario.get("observed") or {}
    entries = observed.get("hashrate") if isinstance(observed, dict) else None
    if not entries or not isinstance(entries, list):
        return None
    first = data.coins[0] if data.coins else ""
    rows = [(e.get("date"), e.get("hashrate_hs")) for e in entries if isinstance(e, dict)
            and str(e.get("coin", observed.get("coin", first))) == coin]
    df = pd.DataFrame(rows, columns=["date", "hashrate_hs"]).dropna()
    if not len(df):
        return None
    df["date"] = pd.to_datetime(df["date"], format="ISO8601", errors="coerce")
    df["hashrate_hs"] = pd.to_numeric(df["hashrate_hs"], errors="coerce")
    start, end = data.span
    df = df.dropna()
    df = df[(df["date"] >= start) & (df["date"] <= end)]
    return df.sort_values("date") if len(df) else None


def markers(data: RunData, arm: str | None = None) -> list[Marker]:
    """Policy markers, one per date within the run's span, from the event log of `arm`'s first
    member (default: the first arm's), else from the scenario's policies.

    The policies of a scenario cover its full period: a run cut short (``--set end=…``), in
    which none of them happened, must not show them, nor get its axes stretched to their dates.
    """
    ev = data.first_member(arm)
    if len(ev) or len(data.tables["events"]):
        rows = [(d, k, a, r, t) for d, k, a, r, t in zip(
            ev["date"], ev["kind"], ev["actor"], ev.get("region", ""), ev["description"],
            strict=True)]
    else:
        rows = [(pd.Timestamp(p.get("date")), p.get("kind", ""), p.get("actor") or "",
                 p.get("region") or "", p.get("description") or p.get("kind", ""))
                for p in data.scenario.get("policies", []) if p.get("date")]
    start, end = data.span
    by_date: dict[pd.Timestamp, list[tuple[str, str]]] = {}
    for date, kind, actor, region, text in rows:
        if kind not in MARKER_KINDS or pd.isna(date):
            continue
        day = pd.Timestamp(date).normalize()
        if start <= day <= end:
            by_date.setdefault(day, []).append((_short(data, kind, actor, region, str(text)),
                                                str(text)))
    out = []
    for day in sorted(by_date):
        labels = list(dict.fromkeys(lab for lab, _ in by_date[day]))
        label = ", ".join(labels[:2]) + (f" +{len(labels) - 2}" if len(labels) > 2 else "")
        out.append(Marker(day, label, "\n".join(t for _, t in by_date[day])))
    return out


def _short(data: RunData, kind: str, actor: str, region: str, text: str) -> str:
    word = MARKER_KINDS[kind]
    if kind.startswith(("pool_stop", "pool_wind", "pool_shutdown", "service_")):
        return f"{actor} {word}"
    if kind == "lift":  # named by what was lifted ("lifted ban Iran"), not by its id
        found = re.search(r"'([^']+)'", text)
        ident = found.group(1) if found else ""
        policy = next((p for p in data.scenario.get("policies") or []
                       if isinstance(p, dict) and p.get("id") == ident), None)
        if policy is not None and policy.get("kind") in MARKER_KINDS:
            where = data.label(policy["region"]) if policy.get("region") else ""
            return f"lifted {MARKER_KINDS[policy['kind']]} {where}".strip()
        return f"lifted {ident or region or actor}"
    where = data.label(region) if region else actor
    return f"{word} {where}".strip()


def retargets(data: RunData, coin: str) -> pd.DataFrame:
    """Difficulty retargets of `coin` in the first member: date and change in %."""
    ev = data.first_member()
    if not len(ev):
        return pd.DataFrame(columns=["date", "change_pct"])
    rt = ev[(ev["kind"] == "retarget") & (ev["actor"] == coin)]
    pct = rt["description"].str.extract(r"difficulty ([+-]?[0-9.]+)%")[0].astype(float)
    return pd.DataFrame({"date": rt["date"].to_numpy(), "change_pct": pct.to_numpy()})


def flow_totals(data: RunData, arm: str) -> pd.DataFrame:
    """Rigs departed per origin → destination over the run (mean over members), largest first."""
    fl = data.tables["flows"]
    fl = fl[fl["arm"] == arm]
    if not len(fl):
        return pd.DataFrame(columns=["origin", "destination", "rigs"])
    per = fl.groupby([*MEMBER, "origin", "destination"])["rigs_departed"].sum()
    total = per.groupby(["origin", "destination"]).sum() / max(data.members(arm), 1)
    out = total.rename("rigs").reset_index()
    return out[out["rigs"] > 0].sort_values(["rigs", "origin", "destination"],
                                            ascending=[False, True, True], kind="stable")


def order_over_arms(totals_per_arm: Iterable[pd.Series], most: int | None = None) -> list[Any]:
    """The keys of every arm's totals (regions, origin → destination pairs), largest total
    summed over the arms first, ties in the order the arms first list them; at most `most`.

    One order for every arm's chart, so that a key sits in the same row or legend place in
    each (each arm had its own order: a class comparing arms side by side found Russia second
    in one and third in the next). One arm: its own order, where its totals come largest first.
    """
    parts = [t for t in totals_per_arm if len(t)]
    if not parts:
        return []
    over = pd.concat(parts)
    levels = list(range(over.index.nlevels)) if over.index.nlevels > 1 else 0
    total = over.groupby(level=levels, sort=False).sum()  # keys in the order first listed
    return list(total.sort_values(ascending=False, kind="stable").index[:most])


def flow_order(totals: dict[str, pd.DataFrame], most: int | None = None
               ) -> list[tuple[str, str]]:
    """Origin → destination pairs of every arm's :func:`flow_totals` (a frame per arm), by
    their rigs summed over the arms (:func:`order_over_arms`), at most `most`."""
    return order_over_arms((t.set_index(["origin", "destination"])["rigs"]
                            for t in totals.values()), most)


def dest_order(arrivals: Iterable[pd.DataFrame]) -> list[str]:
    """The destinations of every arm's :func:`cumulative_arrivals`, most rigs arrived over all
    arms first (:func:`order_over_arms`)."""
    return order_over_arms(cum.iloc[-1] for cum in arrivals if len(cum))


def choice_totals(data: RunData, arm: str) -> pd.DataFrame:
    """Decisions of each choice over the run, in rigs (decisions.csv, mean over members; a rig
    that waits decides again and counts again): a row per region (most decisions first), a
    column per choice made, in CHOICE_LABELS' order."""
    from sim.plot_style import CHOICE_LABELS

    dec = data.tables["decisions"]
    dec = dec[dec["arm"] == arm]
    if not len(dec):
        return pd.DataFrame()
    total = dec.groupby(["region", "choice"])["rigs"].sum().astype(float).unstack().fillna(0.0)
    total = total / max(data.members(arm), 1)
    total = total[[c for c in CHOICE_LABELS if c in total.columns]]
    order = total.sum(axis=1).sort_values(ascending=False, kind="stable").index
    return total.loc[order]


def choice_regions(totals: dict[str, pd.DataFrame], most: int = MOST_ROWS) -> list[str]:
    """The regions of the choices figures, one list for every arm: most decisions over all
    arms first (:func:`order_over_arms`), at most `most`, so that a region sits in the same
    row of each arm's bars."""
    return order_over_arms((t.sum(axis=1) for t in totals.values()), most)


@dataclass(frozen=True)
class Earnings:
    """Who earned what, ready to draw: per arm a frame of each region's ``revenue`` and
    ``cost`` (USD over the run, mean over the arm's runs), every frame indexed by `regions`
    (most revenue over all arms first), and the one USD unit for every arm's bars (`scale`
    dollars a `unit`)."""

    regions: list[str]
    by_arm: dict[str, pd.DataFrame]
    scale: float
    unit: str


def earnings(data: RunData, most: int = MOST_ROWS) -> Earnings | None:
    """Who earned what: per arm, each leaf region's revenue and cost over the run (summary.csv's
    ``revenue.<region>`` and ``cost.<region>``, in USD, every coin's together, mean over the
    arm's runs), a row per region in one order for every arm (most revenue over all arms
    first, at most `most`; regions that neither earned nor paid left out). None where the
    summary has no such rows (a folder of an earlier version) or every one is 0."""
    s = data.tables["summary"]
    parts = s["metric"].astype(str).str.partition(".")
    kind, region = parts[0], parts[2]
    mine = kind.isin(["revenue", "cost"]) & (region != "")
    if not mine.any():
        return None
    part = pd.DataFrame({"arm": s["arm"][mine], "kind": kind[mine], "region": region[mine],
                         "value": pd.to_numeric(s["value"][mine], errors="coerce")})
    total = part.groupby(["arm", "region", "kind"], sort=True)["value"].sum().unstack(
        "kind").reindex(columns=["revenue", "cost"], fill_value=0.0).fillna(0.0)
    out: dict[str, pd.DataFrame] = {}
    arms = set(total.index.get_level_values("arm"))
    for arm in data.arms:
        # one arm of the (arm, region) rows is a frame; mypy reads .loc as a frame or a series
        own = cast(pd.DataFrame, total.loc[arm]) if arm in arms else \
            pd.DataFrame(columns=["revenue", "cost"], dtype=float)
        out[arm] = own.rename_axis("region") / max(data.members(arm), 1)
    over = pd.concat(out.values()).groupby(level=0).sum()
    live = over.index[(over["revenue"] != 0) | (over["cost"] != 0)]
    regions = order_over_arms((df.loc[df.index.isin(live), "revenue"] for df in out.values()),
                              most)
    if not regions:
        return None
    by_arm = {arm: df.reindex(regions, fill_value=0.0) for arm, df in out.items()}
    scale, unit = usd_scale(max(float(df.to_numpy().max()) for df in by_arm.values()))
    return Earnings(regions, by_arm, scale, unit)


def cumulative_arrivals(data: RunData, arm: str) -> pd.DataFrame:
    """Rigs arrived by destination, cumulated over time (mean over members), date × region."""
    fl = data.tables["flows"]
    fl = fl[fl["arm"] == arm]
    if not len(fl):
        return pd.DataFrame()
    daily = fl.groupby(["date", "destination"])["rigs_arrived"].sum().unstack().fillna(0.0)
    dates = pd.date_range(*data.span, freq="D")
    daily = daily.reindex(dates, fill_value=0.0) / max(data.members(arm), 1)
    cum = daily.cumsum()
    return cum[list(cum.iloc[-1].sort_values(ascending=False, kind="stable").index)]


def monthly_books(data: RunData, facility: str) -> pd.DataFrame:
    """A facility's revenue, cost and profit per month (USD, mean over members), per arm."""
    fac = data.tables["facilities"]
    fac = fac[fac["facility"] == facility]
    if not len(fac):
        return pd.DataFrame(columns=["arm", "month", "revenue_usd", "cost_usd", "profit_usd"])
    fac = fac.assign(month=fac["date"].dt.to_period("M").dt.to_timestamp())
    per = fac.groupby(["arm", *MEMBER, "month"])[["revenue_usd", "cost_usd"]].sum()
    books = per.groupby(["arm", "month"]).mean().reset_index()
    books["profit_usd"] = books["revenue_usd"] - books["cost_usd"]
    return books


def target_block_time(data: RunData, coin: str) -> float | None:
    for c in data.scenario.get("coins", []):
        if c.get("name") == coin and c.get("block_time_s"):
            return float(c["block_time_s"])
    return None


def block_time_unit(data: RunData, coin: str) -> tuple[float, str]:
    """Seconds per display unit of `coin`'s block time: minutes for Bitcoin's 10, seconds for a
    chain whose blocks come in under two minutes (Ethereum's 13 s is not 0.22 min)."""
    target = target_block_time(data, coin)
    if target is None:
        net = data.tables["network"]
        times = (pd.to_numeric(net.loc[net["coin"] == coin, "mean_block_time_s"],
                               errors="coerce").to_numpy(dtype=float)
                 if "mean_block_time_s" in net.columns else np.array([]))
        times = times[np.isfinite(times)]
        target = float(np.median(times)) if len(times) else 600.0
    return (60.0, "min") if target >= 120.0 else (1.0, "s")


def energy_series(data: RunData) -> pd.DataFrame:
    """Daily energy (MWh) and cumulative CO₂ (t) per member, summed over leaf regions."""
    leaves = data.leaf_regions()
    if not len(leaves) or "energy_mwh" not in leaves.columns:
        return pd.DataFrame(columns=["arm", *MEMBER, "date", "energy_mwh", "co2_t", "co2_cum_t"])
    per = member_sum(leaves, ["energy_mwh", "co2_t"])
    per["co2_cum_t"] = per.groupby(["arm", *MEMBER], sort=False)["co2_t"].cumsum()
    return per
