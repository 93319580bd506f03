"""Figures of a run or an experiment: the data they show, and static matplotlib files.

Two layers. :class:`RunData` holds a results directory (or an in-memory `Results`) with every
table normalised to carry ``arm``, ``sample`` and ``replicate`` columns, and turns its long
tables into what a figure shows: median and 5–95 % bands over an arm's members (one member per
sample × replicate), means for stacked charts, dated policy markers, the observed overlay. Both
the matplotlib figures here and the interactive report (`sim.report`) draw from it.

``write_figures`` renders PNG or SVG with the Agg backend. SVG files are byte-identical between
runs: a fixed ``svg.hashsalt``, glyphs as paths, no date in the metadata.

matplotlib is an optional extra (``pip install 'hashsim[plot]'``) imported inside functions.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from sim.errors import HashsimError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.results import Results

TABLES = ("network", "regions", "pools", "facilities", "flows", "events", "summary")
MEMBER = ["sample", "replicate"]
STATUSES = ("online", "offline", "banned_off", "in_transit", "queued", "underground", "retired")
STATUS_LABELS = {"online": "online", "offline": "offline (unprofitable)",
                 "banned_off": "banned, off", "in_transit": "in transit", "queued": "queued",
                 "underground": "underground", "retired": "retired"}
STATUS_COLOURS = {"online": "#2a9d55", "offline": "#a6c8a0", "banned_off": "#d62728",
                  "in_transit": "#ff9f1c", "queued": "#f4d35e", "underground": "#6a4c93",
                  "retired": "#7f7f7f"}
#: Event kinds drawn as dated markers on time axes (the timeline in the report shows all).
MARKER_KINDS = {
    "announcement": "announcement", "mining_ban": "ban", "power_cutoff": "power cut",
    "pool_service_ban": "pool ban", "exchange_ban": "exchange ban", "incentive": "incentive",
    "lift": "lifted", "pool_stop_service": "stops serving", "pool_wind_down": "winds down",
    "pool_shutdown": "shuts down", "service_close": "closes accounts",
}
FIGURES = ("hashrate", "difficulty", "regions", "rigs", "pools", "flows", "facilities", "energy")
_HASHRATE_UNITS = ((1e18, "EH/s"), (1e15, "PH/s"), (1e12, "TH/s"), (1e9, "GH/s"),
                   (1e6, "MH/s"), (1.0, "H/s"))


class NotResultsError(HashsimError):
    """A path that is not a hashsim results or experiment directory."""

    exit_code = 3


class MissingPathError(HashsimError):
    """A path that does not exist (a usage error)."""

    exit_code = 2


class MissingExtraError(HashsimError):
    """An optional library (matplotlib, plotly) is not installed."""

    exit_code = 1


def require(module: str, extra: str) -> Any:
    """Import an optional library or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"this needs {module.split('.')[0]}: "
                                f"pip install 'hashsim[{extra}]'") from None


# ---------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Marker:
    """A dated policy marker: a short label for the axis and the full text for hovering."""

    date: pd.Timestamp
    label: str
    text: str


@dataclass
class RunData:
    """The tables of a run or experiment, each with ``arm``/``sample``/``replicate`` columns.

    ``scenario`` is the resolved scenario as a plain dict (``{}`` when unknown); ``meta`` is
    run.json or manifest.json. ``arms`` keeps the order in which arms first appear.
    """

    name: str
    scenario: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    meta: dict[str, Any] = field(default_factory=dict)
    experiment: bool = False
    sensitivity: pd.DataFrame | None = None
    samples: pd.DataFrame | None = None
    source: Path | None = None

    def __post_init__(self) -> None:
        for name in TABLES:
            self.tables[name] = _normalise(self.tables.get(name, pd.DataFrame()), name)
        net = self.tables["network"]
        self.arms: list[str] = list(dict.fromkeys(net["arm"].tolist())) or [""]
        runs = net[["arm", *MEMBER]].drop_duplicates()
        self._members = runs.groupby("arm").size().to_dict()

    @classmethod
    def from_results(cls, results: Results) -> RunData:
        """An in-memory `sim.results.Results` (no files needed)."""
        tables = {n: results.tables[n].copy() for n in TABLES if n in results.tables}
        return cls(results.scenario.name, results.scenario.model_dump(mode="json"), tables,
                   results.run_json())

    # ------------------------------------------------------------ lookups
    @property
    def coins(self) -> list[str]:
        return list(dict.fromkeys(self.tables["network"]["coin"].astype(str).tolist()))

    def coin_rule(self, coin: str) -> str | None:
        for c in self.scenario.get("coins", []):
            if c.get("name") == coin:
                return str(c.get("rule"))
        return None

    def hashrate_unit(self, coin: str, values: Iterable[float] = ()) -> tuple[float, str]:
        """Display scale: EH/s for a Bitcoin-rule coin, TH/s for a tracking one, else by size."""
        rule = self.coin_rule(coin)
        if rule == "bitcoin":
            return 1e18, "EH/s"
        if rule == "tracking":
            return 1e12, "TH/s"
        top = max((abs(v) for v in values if np.isfinite(v)), default=0.0)
        return next(((s, u) for s, u in _HASHRATE_UNITS if top >= s), (1.0, "H/s"))

    def label(self, region: str) -> str:
        """A region's display label (its name when it has none)."""
        for r in self.scenario.get("regions", []):
            if r.get("name") == region:
                return str(r.get("label") or region)
        return region

    def leaf_regions(self) -> pd.DataFrame:
        """regions.csv without parent (aggregate) rows."""
        reg = self.tables["regions"]
        return reg[~reg["aggregate"]] if len(reg) else reg

    def arm_label(self, arm: str) -> str:
        return arm or "simulated"

    def members(self, arm: str) -> int:
        """Runs (sample × replicate) of `arm`."""
        return int(self._members.get(arm, 0))

    def first_member(self, arm: str | None = None) -> pd.DataFrame:
        """Events of one member: the first sample and replicate of `arm` (default the first)."""
        ev = self.tables["events"]
        ev = ev[ev["arm"] == (self.arms[0] if arm is None else arm)]
        if not len(ev):
            return ev
        first = ev[MEMBER].drop_duplicates().sort_values(MEMBER).iloc[0]
        return ev[(ev["sample"] == first["sample"]) & (ev["replicate"] == first["replicate"])]

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        dates = self.tables["network"]["date"]
        return pd.Timestamp(dates.min()), pd.Timestamp(dates.max())


def _normalise(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Give a table arm/sample/replicate columns and real dates."""
    df = df.copy()
    if "arm" not in df.columns:
        df["arm"] = ""
    df["arm"] = df["arm"].fillna("").astype(str)
    for col in MEMBER:
        if col not in df.columns:
            df[col] = 0
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype(np.int64)
    if "date" in df.columns and name != "summary":
        df["date"] = pd.to_datetime(df["date"], format="ISO8601", errors="coerce")
    for col in ("coin", "region", "pool", "facility", "origin", "destination", "kind",
                "actor", "description"):
        if col in df.columns:
            df[col] = df[col].fillna("").astype(str)
    if name == "regions" and "aggregate" in df.columns:
        df["aggregate"] = df["aggregate"].astype(str).str.lower().isin(("true", "1"))
    elif name == "regions" and len(df):
        df["aggregate"] = False
    return df


def load_run(path: str | os.PathLike[str]) -> RunData:
    """Read a results directory (run.json) or an experiment directory (manifest.json).

    Raises `MissingPathError` (exit code 2) when the path does not exist and
    `NotResultsError` (exit code 3) when it is not a hashsim results directory.
    """
    folder = Path(path)
    if not folder.exists():
        raise MissingPathError(f"{folder}: no such directory")
    if not folder.is_dir():
        raise NotResultsError(f"{folder}: not a directory (give a results directory)")
    meta, experiment = _read_meta(folder)
    if not any((folder / f"network.{ext}").is_file() for ext in ("csv", "parquet")):
        raise NotResultsError(f"{folder}: not a hashsim results directory (no network.csv; "
                              "make one with `hashsim run SCENARIO -o DIR`)")
    tables = {n: _read_table(folder, n) for n in TABLES}
    _check_columns(folder, tables)
    scenario = _scenario_of(meta)
    extra = {n: _read_table(folder, n) if (folder / f"{n}.csv").is_file() else None
             for n in ("sensitivity", "samples")}
    experiment = experiment or "arm" in tables["network"].columns
    name = str(scenario.get("name") or meta.get("name") or folder.resolve().name)
    return RunData(name, scenario, tables, meta, experiment, extra["sensitivity"],
                   extra["samples"], folder)


def _read_meta(folder: Path) -> tuple[dict[str, Any], bool]:
    for fname, experiment in (("run.json", False), ("manifest.json", True)):
        path = folder / fname
        if path.is_file():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
                raise NotResultsError(f"{path}: unreadable ({err})") from None
            if not isinstance(doc, dict):
                raise NotResultsError(f"{path}: not a hashsim {fname}")
            return doc, experiment
    raise NotResultsError(f"{folder}: not a hashsim results directory (no run.json or "
                          "manifest.json; make one with `hashsim run SCENARIO -o DIR`)")


def _read_table(folder: Path, name: str) -> pd.DataFrame:
    """``name.csv`` (or ``name.parquet``, as sweeps may write) — empty when there is none."""
    path = folder / f"{name}.csv"
    try:
        if path.is_file():
            return pd.read_csv(path, keep_default_na=False, na_values=[""])
        path = folder / f"{name}.parquet"
        return pd.read_parquet(path) if path.is_file() else pd.DataFrame()
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except ImportError:
        raise MissingExtraError(f"{path}: reading Parquet needs pyarrow") from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as err:
        raise NotResultsError(f"{path}: unreadable table ({err})") from None


_REQUIRED = {"network": ("date", "coin", "hashrate_hs"),
             "regions": ("date", "coin", "region", "share"),
             "pools": ("date", "pool", "coin", "share"),
             "facilities": ("date", "facility", "capacity_mw", "used_mw"),
             "flows": ("date", "origin", "destination", "rigs_departed"),
             "events": ("date", "kind", "description"),
             "summary": ("coin", "metric", "value")}


def _check_columns(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name, cols in _REQUIRED.items():
        df = tables[name]
        missing = [c for c in cols if c not in df.columns]
        if (len(df.columns) or name == "network") and missing:
            raise NotResultsError(f"{folder / (name + '.csv')}: not a hashsim table "
                                  f"(missing column{'s' * (len(missing) > 1)} "
                                  f"{', '.join(missing)})")


def _scenario_of(meta: dict[str, Any]) -> dict[str, Any]:
    """The resolved scenario: run.json's, else an experiment's first arm loaded from its file."""
    for key in ("scenario", "base_scenario", "base"):
        value = meta.get(key)
        if isinstance(value, dict):
            return value
    arms = meta.get("arms")
    if isinstance(arms, dict) and arms:
        first = next(iter(arms.values()))
        if isinstance(first, dict) and isinstance(first.get("scenario"), str):
            import sim

            try:
                loaded = sim.load(first["scenario"], list(first.get("overrides") or []))
            except (HashsimError, OSError, ValueError):
                return {}
            return dict(loaded.model_dump(mode="json"))
    return {}


# ---------------------------------------------------------------------------- series


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
    """Observed network hashrate (``scenario.observed.hashrate``) for `coin`, if any.

    Entries are ``{date, hashrate_hs}``, optionally with ``coin``; entries without a coin
    belong to the scenario's first coin.
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
    return df.dropna().sort_values("date")


def markers(data: RunData, arm: str | None = None) -> list[Marker]:
    """Policy markers, one per date, from the event log of `arm`'s first member (default: the
    first arm's), else from the scenario's policies."""
    ev = data.first_member(arm)
    if len(ev) or len(data.tables["events"]):
        rows = [(d, k, a, r, t) for d, k, a, r, t in zip(
            ev["date"], ev["kind"], ev["actor"], ev.get("region", ""), ev["description"],
            strict=True)]
    else:
        rows = [(pd.Timestamp(p.get("date")), p.get("kind", ""), p.get("actor") or "",
                 p.get("region") or "", p.get("description") or p.get("kind", ""))
                for p in data.scenario.get("policies", []) if p.get("date")]
    by_date: dict[pd.Timestamp, list[tuple[str, str]]] = {}
    for date, kind, actor, region, text in rows:
        if kind in MARKER_KINDS and pd.notna(date):
            day = pd.Timestamp(date).normalize()
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
    if kind == "lift":
        found = re.search(r"'([^']+)'", text)
        return f"lifted {found.group(1) if found else region or actor}"
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


def si_scale(top: float, unit: str) -> tuple[float, str]:
    """A readable multiple for large values: (1e9, 'G' + unit) etc."""
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(top) >= scale:
            return scale, f"{prefix}{unit}"
    return 1.0, unit


# ---------------------------------------------------------------------------- matplotlib

_STYLE = {
    "svg.hashsalt": "hashsim", "svg.fonttype": "path", "font.size": 9, "axes.titlesize": 10,
    "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "grid.linewidth": 0.5, "legend.frameon": False,
    "figure.dpi": 100, "savefig.dpi": 200, "savefig.bbox": "tight", "path.simplify": False,
}
ARM_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
               "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")


def _plt() -> Any:
    mpl = require("matplotlib", "plot")
    mpl.use("Agg", force=True)
    return require("matplotlib.pyplot", "plot")


def _counts_axis(ax: Axes, axis: str = "y") -> None:
    """Thousands separators on a count axis (28,000 rather than 28000)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(integer=True))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def clip(text: str, width: int = 30) -> str:
    """Shorten a long label for an axis or a legend."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def cluster_markers(marks: Sequence[Marker], span: tuple[pd.Timestamp, pd.Timestamp],
                    width: int = 34) -> list[tuple[Marker, str]]:
    """Markers inside `span`, grouped when closer than 1/45 of it: (first marker, label of at
    most `width` characters)."""
    inside = [m for m in marks if span[0] <= m.date <= span[1]]
    gap = max((span[1] - span[0]).days / 45.0, 1.0)
    clusters: list[list[Marker]] = []
    for m in inside:
        if clusters and (m.date - clusters[-1][0].date).days <= gap:
            clusters[-1].append(m)
        else:
            clusters.append([m])
    return [(group[0], clip("; ".join(m.label for m in group), width)) for group in clusters]


def _mark(ax: Axes, marks: Sequence[Marker], span: tuple[pd.Timestamp, pd.Timestamp],
          labels: bool = True) -> float:
    """Policy events as dotted vertical lines; nearby dates share one label above the axes.

    Returns the height the labels take above the axes (points), for the title's padding.
    """
    import matplotlib.dates as mdates

    for m in marks:
        if span[0] <= m.date <= span[1]:
            ax.axvline(float(mdates.date2num(m.date)), color="0.35", lw=0.7, ls=":", zorder=1)
    clusters = cluster_markers(marks, span) if labels else []
    for first, text in clusters:
        ax.text(float(mdates.date2num(first.date)), 1.01, text, rotation=50,
                rotation_mode="anchor", va="bottom", ha="left", fontsize=6.5, color="0.25",
                transform=ax.get_xaxis_transform(), clip_on=False)
    if not clusters:
        return 0.0
    longest = max(len(text) for _, text in clusters)
    return 6.5 * 0.56 * longest * float(np.sin(np.radians(50))) + 12.0


def _band(ax: Axes, b: pd.DataFrame, scale: float, colour: str, label: str, members: int
          ) -> None:
    ax.plot(b["date"], b["mid"] / scale, color=colour, lw=1.4,
            label=label + (" (median)" if members > 1 else ""))
    if members > 1:
        ax.fill_between(b["date"], b["lo"] / scale, b["hi"] / scale, color=colour, alpha=0.2,
                        lw=0, label=f"5–95 % of {members} runs")


def fig_hashrate(data: RunData) -> Figure:
    """Network hashrate per coin, arms' medians and bands, observed overlay, policy markers."""
    plt = _plt()
    coins = data.coins
    fig, axes = plt.subplots(len(coins), 1, figsize=(7.5, 3.4 * len(coins)), squeeze=False)
    net, marks, pad = data.tables["network"], markers(data), 6.0
    for ax, coin in zip(axes[:, 0], coins, strict=True):
        part = net[net["coin"] == coin]
        obs = observed_hashrate(data, coin)
        scale, unit = data.hashrate_unit(coin, part["hashrate_hs"])
        for i, arm in enumerate(data.arms):
            b = bands(part[part["arm"] == arm], "hashrate_hs")
            _band(ax, b, scale, ARM_COLOURS[i % len(ARM_COLOURS)], data.arm_label(arm),
                  data.members(arm))
        if obs is not None:
            ax.plot(obs["date"], obs["hashrate_hs"] / scale, color="black", lw=1.0, ls="--",
                    label="observed (7-day mean)")
        pad = _mark(ax, marks, data.span, labels=ax is axes[0, 0]) or pad
        ax.set_ylabel(f"{coin} network hashrate ({unit})")
        ax.set_ylim(bottom=0)
        _date_axis(ax)
        ax.legend(loc="best")
    axes[0, 0].set_title(f"Network hashrate — {data.name}", pad=pad)
    return fig


def fig_difficulty(data: RunData) -> Figure:
    """Difficulty and 7-day mean block time per coin, with the first run's retargets marked."""
    plt = _plt()
    coins = data.coins
    fig, axes = plt.subplots(2 * len(coins), 1, figsize=(7.5, 5.2 * len(coins)), sharex=True,
                             squeeze=False)
    net, marks, pad = data.tables["network"], markers(data), 6.0
    smooth = rolling_mean(net, "mean_block_time_s", 7, by=["coin"])
    for k, coin in enumerate(coins):
        ax_d, ax_t = axes[2 * k, 0], axes[2 * k + 1, 0]
        part = net[net["coin"] == coin]
        dscale, dunit = si_scale(float(part["difficulty"].max()), "")
        for i, arm in enumerate(data.arms):
            colour, n = ARM_COLOURS[i % len(ARM_COLOURS)], data.members(arm)
            _band(ax_d, bands(part[part["arm"] == arm], "difficulty"), dscale, colour,
                  data.arm_label(arm), n)
            sm = smooth[(smooth["coin"] == coin) & (smooth["arm"] == arm)]
            _band(ax_t, bands(sm, "mean_block_time_s"), 60.0, colour, data.arm_label(arm), n)
        rt = retargets(data, coin)
        if len(rt):
            on = part[part["arm"] == data.arms[0]].groupby("date")["difficulty"].median()
            y = on.reindex(pd.DatetimeIndex(rt["date"]).normalize()).to_numpy() / dscale
            ax_d.scatter(rt["date"], y, marker="v", s=14, color="black", zorder=4,
                         label="retarget (first run)")
            for d, yy, pct in zip(rt["date"], y, rt["change_pct"], strict=True):
                if abs(pct) >= 10 and np.isfinite(yy):
                    ax_d.annotate(f"{pct:+.1f} %", (d, yy), xytext=(0, -11),
                                  textcoords="offset points", ha="center", fontsize=6.5)
        target = target_block_time(data, coin)
        if target:
            ax_t.axhline(target / 60.0, color="0.3", lw=0.8, ls="--", label="target")
        ax_d.set_ylabel(f"{coin} difficulty" + (f" ({dunit})" if dunit else ""))
        ax_t.set_ylabel(f"{coin} block time, 7-day mean (min)")
        for ax in (ax_d, ax_t):
            pad = _mark(ax, marks, data.span, labels=ax is axes[0, 0]) or pad
            _date_axis(ax)
            ax.legend(loc="best")
    axes[0, 0].set_title(f"Difficulty and block time — {data.name}", pad=pad)
    return fig


def target_block_time(data: RunData, coin: str) -> float | None:
    for c in data.scenario.get("coins", []):
        if c.get("name") == coin and c.get("block_time_s"):
            return float(c["block_time_s"])
    return None


def _colours(n: int) -> list[Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab20" if n > 10 else "tab10"]
    return [cmap(i % cmap.N) for i in range(n)]


def _arm_grid(plt: Any, rows: int, arms: Sequence[str], height: float) -> tuple[Figure, Any]:
    width = 7.5 if len(arms) == 1 else min(4.2 * len(arms), 16.0)
    return plt.subplots(rows, len(arms), figsize=(width, height * rows), squeeze=False,
                        sharey="row")


def fig_regions(data: RunData) -> Figure:
    """Stacked shares of the coin's hashrate by (leaf) region; arms side by side."""
    plt = _plt()
    leaves, coins = data.leaf_regions(), data.coins
    fig, axes = _arm_grid(plt, len(coins), data.arms, 3.6)
    for r, coin in enumerate(coins):
        for c, arm in enumerate(data.arms):
            ax = axes[r, c]
            one = leaves[leaves["coin"] == coin]
            wide = stack_means(one, "share", "region", arm)
            palette = dict(zip(key_order(one, "share", "region"),
                               _colours(one["region"].nunique()), strict=True))
            if len(wide.columns):
                ax.stackplot(wide.index, (wide.to_numpy().T * 100.0),
                             labels=[clip(data.label(x)) for x in wide.columns],
                             colors=[palette[x] for x in wide.columns], lw=0)
            _mark(ax, markers(data, arm), data.span, labels=False)
            ax.set_ylim(0, 100)
            if len(coins) > 1 or arm:
                ax.set_title(f"{coin}" + (f" — {data.arm_label(arm)}" if arm else ""))
            _date_axis(ax)
        axes[r, 0].set_ylabel("share of hashrate (%)")
        axes[r, -1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    n = data.members(data.arms[0])
    what = f" of {coins[0]} hashrate" if len(coins) == 1 else ""
    runs = f" (mean of {n} runs)" if n > 1 else ""
    fig.suptitle(f"Regional shares{what} — {data.name}{runs}", y=1.02)
    return fig


def fig_rigs(data: RunData) -> Figure:
    """Rigs by status over time (every leaf region and coin), stacked; arms side by side."""
    plt = _plt()
    leaves = data.leaf_regions()
    fig, axes = _arm_grid(plt, 1, data.arms, 3.8)
    cols = [f"rigs_{s}" for s in STATUSES if f"rigs_{s}" in leaves.columns]
    per = member_sum(leaves, cols) if len(leaves) else pd.DataFrame(columns=["arm", "date"])
    for c, arm in enumerate(data.arms):
        ax = axes[0, c]
        part = per[per["arm"] == arm]
        if len(part):
            mean = part.groupby("date")[cols].mean()
            keys = [x.removeprefix("rigs_") for x in cols]
            ax.stackplot(mean.index, mean.to_numpy().T, labels=[STATUS_LABELS[k] for k in keys],
                         colors=[STATUS_COLOURS[k] for k in keys], lw=0)
        pad = _mark(ax, markers(data, arm), data.span, labels=True)
        ax.set_title(f"Rigs by status — {data.name}" + (f" — {arm}" if arm else ""), pad=pad)
        ax.set_ylim(bottom=0)
        _date_axis(ax)
        _counts_axis(ax)
    axes[0, 0].set_ylabel("rigs")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), reverse=True)
    return fig


def fig_pools(data: RunData) -> Figure:
    """Pool shares of each coin's hashrate (mean over runs); arms side by side."""
    plt = _plt()
    pools, coins = data.tables["pools"], data.coins
    fig, axes = _arm_grid(plt, len(coins), data.arms, 3.4)
    for r, coin in enumerate(coins):
        for c, arm in enumerate(data.arms):
            ax = axes[r, c]
            one = pools[pools["coin"] == coin]
            wide = stack_means(one, "share", "pool", arm)
            palette = dict(zip(key_order(one, "share", "pool"), _colours(one["pool"].nunique()),
                               strict=True))
            for pool in wide.columns:
                ax.plot(wide.index, wide[pool] * 100.0, color=palette[pool], lw=1.2,
                        label=clip(pool))
            _mark(ax, markers(data, arm), data.span, labels=False)
            ax.set_ylim(bottom=0)
            if len(coins) > 1 or arm:
                ax.set_title(f"{coin}" + (f" — {data.arm_label(arm)}" if arm else ""))
            _date_axis(ax)
        axes[r, 0].set_ylabel("pool share of hashrate (%)")
        axes[r, -1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    what = f" of {coins[0]} hashrate" if len(coins) == 1 else ""
    fig.suptitle(f"Pool shares{what} — {data.name}", y=1.02)
    return fig


def fig_flows(data: RunData) -> Figure | None:
    """Migration: rigs per origin → destination, and cumulative arrivals by destination."""
    plt = _plt()
    if not len(data.tables["flows"]):
        return None
    fig, axes = plt.subplots(len(data.arms), 2, figsize=(11.0, 3.8 * len(data.arms)),
                             squeeze=False, gridspec_kw={"width_ratios": [1, 1.3]})
    for r, arm in enumerate(data.arms):
        tot = flow_totals(data, arm).head(15).iloc[::-1]
        ax = axes[r, 0]
        names = [f"{clip(data.label(o), 24)} → {clip(data.label(d), 24)}"
                 for o, d in zip(tot["origin"], tot["destination"], strict=True)]
        ax.barh(range(len(tot)), tot["rigs"], color=ARM_COLOURS[r % len(ARM_COLOURS)])
        ax.set_yticks(range(len(tot)), names)
        ax.set_xlabel("rigs departed over the run")
        _counts_axis(ax, "x")
        ax.set_title(f"origin → destination{' — ' + arm if arm else ''}")
        cum = cumulative_arrivals(data, arm)
        ax = axes[r, 1]
        for colour, dest in zip(_colours(len(cum.columns)), cum.columns, strict=True):
            ax.plot(cum.index, cum[dest], color=colour, lw=1.2, label=clip(data.label(dest)))
        _mark(ax, markers(data, arm), data.span, labels=False)
        ax.set_ylabel("rigs arrived (cumulative)")
        _counts_axis(ax)
        ax.set_title("arrivals by destination")
        _date_axis(ax)
        if len(cum.columns):
            ax.legend(loc="upper left")
    fig.suptitle(f"Migration flows — {data.name}", y=1.02)
    return fig


def fig_facilities(data: RunData) -> Figure | None:
    """Each facility's capacity and use (MW) and its monthly books (USD)."""
    plt = _plt()
    fac = data.tables["facilities"]
    names = list(dict.fromkeys(fac["facility"].tolist()))[:6]
    if not names:
        return None
    fig, axes = plt.subplots(len(names), 2, figsize=(11.0, 3.4 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        part = fac[fac["facility"] == name]
        books = monthly_books(data, name)
        ax_mw, ax_usd = axes[r, 0], axes[r, 1]
        for i, arm in enumerate(data.arms):
            colour, n = ARM_COLOURS[i % len(ARM_COLOURS)], data.members(arm)
            one = part[part["arm"] == arm]
            cap = one.groupby("date")["capacity_mw"].median()
            ax_mw.step(cap.index, cap.to_numpy(), where="post", color=colour, ls="--", lw=1.0,
                       label=f"capacity{' — ' + arm if arm else ''}")
            _band(ax_mw, bands(one, "used_mw"), 1.0, colour, f"in use{' — ' + arm if arm else ''}",
                  n)
            b = books[books["arm"] == arm]
            if len(data.arms) == 1:
                width = pd.Timedelta(days=9)
                ax_usd.bar(b["month"] - width / 2, b["revenue_usd"] / 1e6, width=width,
                           color="#2a9d55", label="revenue")
                ax_usd.bar(b["month"] + width / 2, b["cost_usd"] / 1e6, width=width,
                           color="#d62728", label="cost")
            ax_usd.plot(b["month"], b["profit_usd"] / 1e6, marker="o", ms=3, color=colour,
                        lw=1.2, label=f"profit{' — ' + arm if arm else ''}")
        ax_usd.axhline(0, color="0.3", lw=0.6)
        ax_mw.set_ylabel("MW")
        ax_usd.set_ylabel("USD million per month")
        ax_mw.set_title(f"{name}: capacity and use")
        ax_usd.set_title(f"{name}: monthly books (mean of runs)")
        for ax in (ax_mw, ax_usd):
            _date_axis(ax)
            ax.legend(loc="upper left")
    fig.suptitle(f"Facility books — {data.name}", y=1.02)
    return fig


def energy_series(data: RunData) -> pd.DataFrame:
    """Daily energy (MWh) and cumulative CO₂ (t) per member, summed over leaf regions."""
    leaves = data.leaf_regions()
    if not len(leaves) or "energy_mwh" not in leaves.columns:
        return pd.DataFrame(columns=["arm", *MEMBER, "date", "energy_mwh", "co2_t", "co2_cum_t"])
    per = member_sum(leaves, ["energy_mwh", "co2_t"])
    per["co2_cum_t"] = per.groupby(["arm", *MEMBER], sort=False)["co2_t"].cumsum()
    return per


def fig_energy(data: RunData) -> Figure | None:
    """Energy used per day and cumulative CO₂ emissions."""
    plt = _plt()
    per = energy_series(data)
    if not len(per):
        return None
    fig, axes = plt.subplots(2, 1, figsize=(7.5, 6.0), sharex=True)
    escale, eunit = si_scale(float(per["energy_mwh"].max()) * 1e6, "Wh")
    cscale, cunit = si_scale(float(per["co2_cum_t"].max()) * 1e3, "g")
    marks = markers(data)
    for i, arm in enumerate(data.arms):
        colour, n = ARM_COLOURS[i % len(ARM_COLOURS)], data.members(arm)
        part = per[per["arm"] == arm]
        _band(axes[0], bands(part, "energy_mwh"), escale / 1e6, colour, data.arm_label(arm), n)
        _band(axes[1], bands(part, "co2_cum_t"), cscale / 1e3, colour, data.arm_label(arm), n)
    axes[0].set_ylabel(f"energy per day ({eunit})")
    axes[1].set_ylabel(f"CO₂ emitted, cumulative ({cunit.replace('Gg', 'kt').replace('Tg', 'Mt')})")
    pad = 6.0
    for k, ax in enumerate(axes):
        pad = _mark(ax, marks, data.span, labels=k == 0) or pad
        ax.set_ylim(bottom=0)
        _date_axis(ax)
        ax.legend(loc="best")
    axes[0].set_title(f"Energy and CO₂ — {data.name}", pad=pad)
    return fig


FIGURE_FUNCS: dict[str, Callable[[RunData], Any]] = {
    "hashrate": fig_hashrate, "difficulty": fig_difficulty, "regions": fig_regions,
    "rigs": fig_rigs, "pools": fig_pools, "flows": fig_flows, "facilities": fig_facilities,
    "energy": fig_energy,
}


def render(data: RunData, name: str, fmt: str = "png") -> bytes | None:
    """One figure as PNG or SVG bytes (None when the run has nothing to show there)."""
    import io

    plt = _plt()
    import matplotlib

    with matplotlib.rc_context(cast(Any, _STYLE)):
        fig = FIGURE_FUNCS[name](data)
        if fig is None:
            return None
        try:
            buf = io.BytesIO()
            meta = {"Date": None, "Creator": "hashsim"} if fmt == "svg" else \
                {"Software": "hashsim"}
            fig.savefig(buf, format=fmt, metadata=meta)
        finally:
            plt.close(fig)
    return buf.getvalue()


def write_figures(data: RunData, folder: str | os.PathLike[str], fmt: str = "png",
                  only: Sequence[str] = ()) -> list[Path]:
    """Write every figure (or those in `only`) as ``<name>.<fmt>`` into `folder`.

    Each file is written under a temporary name and renamed into place. Figures with nothing
    to show (no facilities, no migration) are skipped. Returns the paths written.
    """
    if fmt not in ("png", "svg"):
        raise HashsimError(f"unknown format {fmt!r} (png or svg)")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in only or FIGURES:
        blob = render(data, name, fmt)
        if blob is None:
            continue
        target = out / f"{name}.{fmt}"
        write_atomic(target, blob)
        written.append(target)
    return written


def write_atomic(target: Path, blob: bytes) -> None:
    """Write bytes to `target` through a temporary file in the same folder."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
