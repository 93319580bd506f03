"""One self-contained, offline HTML page per run or experiment: interactive figures, tables.

The page inlines plotly.js once (no CDN, no map tiles: migration is a Sankey, not a map) and a
Content-Security-Policy that forbids the page any network access. It holds the figures of
`sim.plots` as plotly charts (hover, zoom, click a legend entry to hide or show a series), the
event timeline with the source articles' events, the summary table, the scenario as run and
its provenance; for an experiment, arms side by side and the sensitivity indices.

Every string that comes from a scenario or a results file is escaped: HTML text through
:func:`html.escape`, plotly text (which plotly reads as a small HTML subset) likewise, and
plotly's own JSON escapes ``<``, ``>`` and ``/``. Output is deterministic: fixed element ids,
no timestamps.

plotly is an optional extra (``pip install 'hashsim[report]'``), imported inside functions.
"""

from __future__ import annotations

import html
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim import plots as P
from sim.plot_style import (
    CHOICE_COLOURS,
    CHOICE_LABELS,
    EARNINGS_COLOURS,
    EARNINGS_LABELS,
    PALETTE,
    clip,
    named_colours,
    region_colours,
)
from sim.plots import RunData
from sim.report_events import (
    POLICY_KINDS,
    SourceEvent,
    plain_event,
    plain_text,
    policy_texts,
    region_labels,
    source_events,
)
from sim.rundata import missing_note, usd_scale

if TYPE_CHECKING:
    from sim.results import Results

CSP = ("default-src 'none'; script-src 'unsafe-inline'; "
       "style-src 'unsafe-inline'; img-src data: blob:; font-src data:")
#: plotly.js 4 adds a "Share chart..." button that uploads the chart to Plotly Cloud, and the
#: logo links to plotly.com: the page must not lead off itself. The button is named
#: sendChartToCloud in plotly.js 4 and sendDataToCloud / editInChartStudio in plotly.js 2
#: (plotly.py 5 and 6); removing a name a version lacks does nothing.
CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False,
          "showSendToCloud": False,
          "modeBarButtonsToRemove": ["sendChartToCloud", "sendDataToCloud", "editInChartStudio"]}


def esc(text: object) -> str:
    """HTML-escape for element content and attribute values."""
    return html.escape(str(text), quote=True)


def ptext(text: object) -> str:
    """Escape text for plotly, which renders a subset of HTML in labels and hover text."""
    return html.escape(str(text), quote=False).replace("\n", "<br>")


def _rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _days(dates: pd.Series | pd.Index) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.DatetimeIndex(dates)]


# ---------------------------------------------------------------------------- summary


METRIC_NAMES = {
    "pre_shock_hashrate": "hashrate before the shock (mean of the 7 days before it)",
    "trough_hashrate": "trough: lowest 7-day mean after the shock",
    "drop": "drop to the trough, from the level before the shock",
    "days_to_recover_90": "days from the trough back to 90 % of the level before the shock",
    "days_to_recover_100": "days from the trough back to 100 % of the level before the shock",
    "largest_adjustment": "largest difficulty adjustment",
    "largest_upward_adjustment": "largest upward difficulty adjustment",
    "largest_downward_adjustment": "largest downward difficulty adjustment",
    "retargets": "difficulty retargets (resets)",
    "energy": "energy used (whole run)", "co2": "CO₂ emitted (whole run)",
    "pool_hhi_before": "pool concentration before the shock (HHI: near 0 = many small pools, "
                       "1 = one pool)",
    "pool_hhi_after": "pool concentration at the end (HHI)",
    "nakamoto_before": "fewest pools holding over half the hashrate, before the shock "
                       "(Nakamoto coefficient)",
    "nakamoto_after": "fewest pools holding over half the hashrate, at the end",
}

#: Metrics the summary table leaves out where a coin has the ones that replace them:
#: ``largest_adjustment`` is the largest in size with its sign, so its median over runs of
#: mixed signs means nothing; upward and downward are shown instead.
SUPERSEDED = {"largest_adjustment": ("largest_upward_adjustment", "largest_downward_adjustment")}

#: Metrics whose missing value means "not within the run" (later than any day of it); for the
#: others it means there was none (no upward adjustment, say).
CENSORED = ("days_to_recover_90", "days_to_recover_100")


def metric_name(data: RunData, metric: str) -> str:
    head, _, region = metric.partition(".")
    if head == "final_share" and region:
        parents = {str(r.get("parent")) for r in data.scenario.get("regions", [])
                   if isinstance(r, dict) and r.get("parent")}
        whole = " (all its regions together)" if region in parents else ""
        return f"final share of the hashrate: {data.label(region)}{whole}"
    if head == "relocated_rigs" and region:
        return f"rigs sent to {data.label(region)} (left for it during the run)"
    if head == "revenue" and region:
        return f"revenue of the rigs mining in {data.label(region)} (whole run, before pool fees)"
    if head == "cost" and region:
        return f"power bills and hosting fees in {data.label(region)} (whole run)"
    if head == "decided" and region in CHOICE_LABELS:  # here the part after the dot is a choice
        again = " (a rig that waits decides again and counts again)" * (region == "hibernate")
        return f"decisions over the run: {CHOICE_LABELS[region]}{again}"
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def format_value(data: RunData, coin: str, unit: str, value: float, signed: bool = False
                 ) -> str:
    """A summary value with its display unit (EH/s, %, GWh, kt, …)."""
    if not math.isfinite(value):
        return "—"
    if unit.startswith("H/s"):
        scale, label = data.hashrate_unit(coin, [value])
        return f"{value / scale:,.2f} {label}"
    if unit == "%":
        return f"{value:+.2f} %" if signed or value < 0 else f"{value:.2f} %"
    if unit == "fraction":
        return f"{100 * value:.1f} %"
    if unit in ("MWh", "t"):  # energy in Wh and CO₂ in tonnes with an SI prefix, as the figures
        wh = unit == "MWh"
        scale, label = P.si_scale(value * 1e6 if wh else value, "Wh" if wh else "t")
        return f"{(value * 1e6 if wh else value) / scale:,.1f} {label}"
    if unit.startswith("days"):
        return f"{value:,.0f} days"
    if unit == "0-1":
        return f"{value:.3f}"
    if unit in ("rigs", "count", "pools"):
        return f"{value:,.0f}{' rigs' if unit == 'rigs' else ''}"
    if unit == "USD":  # 93.8 M USD, not 9.38e+07 USD
        scale, label = usd_scale(value)
        return f"{value / scale:,.1f} {label}"
    return f"{value:,.3g} {unit}".strip()


def summary_rows(data: RunData) -> list[dict[str, Any]]:
    """One row per coin and metric: per arm the median, 5–95 % range and the dates.

    As ``hashsim run`` prints its summary: a median is shown only where more than half of the
    arm's runs have a value (a run that never recovers counts as later than any), and a
    metric's date is the one date of every run or the range ``first … last`` over the runs.
    """
    s = data.tables["summary"]
    rows: list[dict[str, Any]] = []
    if not len(s):
        return rows
    units = s.groupby(["coin", "metric"], sort=False)["unit"].first().reset_index()
    for coin, metric, unit in units.itertuples(index=False):
        row: dict[str, Any] = {"coin": coin, "metric": metric,
                               "name": metric_name(data, str(metric)), "cells": []}
        for arm in data.arms:
            part = s[(s["coin"] == coin) & (s["metric"] == metric) & (s["arm"] == arm)]
            vals = pd.to_numeric(part["value"], errors="coerce").to_numpy(dtype=float)
            dates = part["date"] if "date" in part else pd.Series([], dtype=object)
            row["cells"].append(_cell(data, str(coin), str(unit), vals, dates,
                                      max(data.members(arm), len(vals)), str(metric)))
        rows.append(row)
    return rows


def _date_range(dates: pd.Series) -> str:
    days = sorted({str(d) for d in dates if isinstance(d, str) and d})
    return "" if not days else days[0] if len(days) == 1 else f"{days[0]} … {days[-1]}"


def _cell(data: RunData, coin: str, unit: str, vals: np.ndarray, dates: pd.Series, runs: int,
          metric: str) -> str:
    """Median [5–95 %] of `vals` over the arm's `runs` (a run without a row has no value)."""
    if not len(vals):
        return ""
    finite = vals[np.isfinite(vals)]
    missing = runs - len(finite)
    censored = metric in CENSORED
    none = "not reached" if censored else "none"
    if censored:  # the runs that never get there rank last
        mid = float(np.median(np.concatenate([finite, np.full(missing, np.inf)])))
    else:
        mid = float(np.median(finite)) if 2 * len(finite) > runs else math.inf
    if not math.isfinite(mid):
        return none if runs == 1 else f"{none} in {missing} of {runs} runs"
    plain = _no_fall(metric, finite, missing)
    if plain:
        return plain
    signed = "adjustment" in metric
    text = format_value(data, coin, unit, mid, signed)
    if len(finite) > 1 and np.ptp(finite) > 0:
        lo, hi = (format_value(data, coin, unit, float(q), signed)
                  for q in np.quantile(finite, [0.05, 0.95]))
        if lo != hi:  # runs that differ only past the digits shown get no range
            unit_of = [v.partition(" ")[2] for v in (text, lo, hi)]
            if unit_of[0] and len(set(unit_of)) == 1:  # the unit once: "88,571 rigs [87,601
                # – 89,344]", not after each number
                lo, hi = lo.partition(" ")[0], hi.partition(" ")[0]
            text += f" [{lo} – {hi}]"
    if missing:
        text += f" ({none} in {missing} of {runs} runs)"
    when = _date_range(dates)
    if when:  # the pre-shock level is a mean of the days before the date it carries
        text += f" (shock on {when})" if metric == "pre_shock_hashrate" else f" on {when}"
    return text


def _no_fall(metric: str, finite: np.ndarray, missing: int) -> str:
    """Words for a drop or recovery that is none in every run: a negative 'drop' is a rise,
    and 0 days back to a level means the hashrate never fell below it."""
    if missing or not len(finite):
        return ""
    if metric == "drop" and np.all(finite <= 0):
        return "none: the hashrate did not fall below its level before the shock"
    if metric in CENSORED and np.all(finite == 0):
        level = metric.rsplit("_", 1)[-1]
        return f"none needed: it never fell below {level} % of its level before the shock"
    return ""


def summary_table_html(data: RunData) -> str:
    """The summary table: rows are metrics, columns arms (median [5–95 %] over runs)."""
    rows = summary_rows(data)
    if not rows:
        return "<p>No summary in these results.</p>"
    have = {(r["coin"], r["metric"]) for r in rows}
    rows = [r for r in rows
            if not any((r["coin"], m) in have for m in SUPERSEDED.get(r["metric"], ()))]
    heads = "".join(f"<th>{esc(data.arm_label(a))} "
                    f"<span class='n'>({data.members(a)} run{'s' * (data.members(a) != 1)})"
                    f"</span></th>" for a in data.arms)
    body = []
    for row in rows:
        cells = "".join(f"<td>{esc(c)}</td>" for c in row["cells"])
        body.append(f"<tr><td>{esc(row['coin'])}</td><td title='{esc(row['metric'])}'>"
                    f"{esc(row['name'])}</td>{cells}</tr>")
    return (f"<table class='summary'><thead><tr><th>coin</th><th>metric</th>{heads}</tr>"
            f"</thead><tbody>{''.join(body)}</tbody></table>"
            "<p class='note'>Median over runs, shown where more than half of the runs have a "
            "value (a run that does not recover counts as later than any); [5–95 %] where "
            "runs differ; a date is the one date of every run or the range first … last over "
            "the runs.</p>")


# ---------------------------------------------------------------------------- plotly figures


def _go() -> Any:
    return P.require("plotly.graph_objects", "report")


TITLE_PX = 44  # the title's band at the top of a figure; event labels start below it
LEGEND_CHARS = 40  # a legend entry's length; the PNG figures' 30 is for a narrower figure


def _layout(fig: Any, title: str, height: int = 440, top: int = 70, stacked: bool = False,
            **extra: Any) -> Any:
    """Common layout; `top` is the top margin (the title's band and room for event labels
    above the plot: past 190 px the figure grows by the excess, so the plot keeps its size);
    a `stacked` chart lists its legend top layer first, as it is drawn."""
    extra.setdefault("hovermode", "x unified")
    legend = {"groupclick": "togglegroup", "traceorder": "reversed" if stacked else "normal"}
    fig.update_layout(title={"text": ptext(title), "x": 0.01, "xanchor": "left",
                             "yref": "container", "y": 1.0, "yanchor": "top",
                             "pad": {"t": 12, "l": 0}},
                      template="plotly_white", height=height + max(top - 190, 0),
                      margin={"l": 70, "r": 30, "t": top, "b": 40},
                      showlegend=True, legend=legend, **extra)
    return fig


def _label_room(labels: Sequence[str], size: float, angle: float) -> int:
    """Pixels that rotated labels of font `size` take above the plot, plus the title band."""
    if not labels:
        return TITLE_PX + 16
    longest = max(len(text) for text in labels)
    rad = math.radians(angle)
    return TITLE_PX + math.ceil(0.62 * size * longest * math.sin(rad) + size * math.cos(rad)) + 8


#: The plot's width (px) that decides which side of its marker an event label goes: the plot
#: of a figure on a laptop's page (about 1,300 px wide, less the margins and the legend).
LABEL_PLOT_PX = 900


def _label_side(date: pd.Timestamp, text: str, span: tuple[pd.Timestamp, pd.Timestamp],
                size: float, angle: float) -> dict[str, Any]:
    """Where a rotated event label goes: rising to the right of its marker, or, where that
    would run past the plot's right end (a late event; plotly does not widen the margin for
    an annotation, so the page cut it off), descending to the marker from its left, so that
    it ends at its marker inside the figure."""
    whole = max((span[1] - span[0]).days, 1)
    room = (1.0 - (date - span[0]).days / whole) * LABEL_PLOT_PX
    rad = math.radians(angle)
    width = 0.62 * size * len(text) * math.cos(rad) + size * math.sin(rad)
    if width <= room:
        return {"textangle": -angle, "xanchor": "left"}
    return {"textangle": angle, "xanchor": "right"}


def _named(name: str) -> dict[str, str]:
    """A trace's legend entry, shortened as the PNG figures shorten theirs (a long region name
    squeezed the plot to half the page), and its hover label, which names it in full."""
    return {"name": ptext(clip(name, LEGEND_CHARS)), "meta": ptext(name)}


def _band_traces(fig: Any, b: pd.DataFrame, scale: float, colour: str, name: str,
                 members: int, group: str, row: int | None = None, col: int | None = None,
                 hover: str = ".3g") -> None:
    go = _go()
    where = {"row": row, "col": col} if row is not None else {}
    x = _days(b["date"])
    if members > 1:
        fig.add_trace(go.Scatter(x=x, y=b["hi"].to_numpy() / scale, mode="lines",
                                 line={"width": 0}, showlegend=False, legendgroup=group,
                                 hoverinfo="skip", name=ptext(f"{name} 95 %")), **where)
        fig.add_trace(go.Scatter(x=x, y=b["lo"].to_numpy() / scale, mode="lines",
                                 line={"width": 0}, fill="tonexty",
                                 fillcolor=_rgba(colour, 0.2), showlegend=False,
                                 legendgroup=group, hoverinfo="skip",
                                 name=ptext(f"{name} 5 %")), **where)
    fig.add_trace(go.Scatter(x=x, y=b["mid"].to_numpy() / scale, mode="lines",
                             line={"color": colour, "width": 2}, legendgroup=group,
                             name=ptext(name + (" (median, 5–95 %)" if members > 1 else "")),
                             hovertemplate=f"%{{y:{hover}}}"), **where)


def _event_lines(fig: Any, data: RunData, arm: str | None = None, col: int | None = None,
                 labels: bool = True) -> int:
    """Policy markers of `arm` (default the first): dotted lines on every subplot (or on column
    `col`), short labels above the plot. Returns the top margin the labels need (px)."""
    marks = P.markers(data, arm)
    where = {"row": "all", "col": col} if col is not None else {}
    for m in marks:
        fig.add_vline(x=m.date.strftime("%Y-%m-%d"), line={"dash": "dot", "width": 1,
                      "color": "#777"}, **where)
    clusters = P.cluster_markers(marks, data.span) if labels else []
    for first, text in clusters:
        fig.add_annotation(x=first.date.strftime("%Y-%m-%d"), y=1.0, yref="paper",
                           text=ptext(text), showarrow=False,
                           **_label_side(first.date, text, data.span, 9, 50),
                           yanchor="bottom", font={"size": 9, "color": "#444"},
                           hovertext=ptext(plain_text(first.text, policy_texts(data.scenario),
                                                      region_labels(data.scenario))))
    return _label_room([text for _, text in clusters], 9, 50) if clusters else 70


def pfig_hashrate(data: RunData, coin: str) -> Any:
    go = _go()
    fig = go.Figure()
    net = data.tables["network"]
    part = net[net["coin"] == coin]
    scale, unit = data.hashrate_unit(coin, part["hashrate_hs"])
    for i, arm in enumerate(data.arms):
        b = P.bands(part[part["arm"] == arm], "hashrate_hs")
        _band_traces(fig, b, scale, P.ARM_COLOURS[i % len(P.ARM_COLOURS)],
                     data.arm_label(arm), data.members(arm), f"arm{i}", hover=".2f")
    obs = P.observed_hashrate(data, coin)
    if obs is not None:
        fig.add_trace(go.Scatter(x=_days(obs["date"]), y=obs["hashrate_hs"].to_numpy() / scale,
                                 mode="lines", line={"color": "black", "dash": "dash"},
                                 name="observed (7-day mean)", hovertemplate="%{y:.2f}"))
    top = _event_lines(fig, data)
    fig.update_yaxes(title_text=ptext(f"{coin} network hashrate ({unit})"), rangemode="tozero")
    return _layout(fig, f"Network hashrate — {coin}", top=top)


def pfig_difficulty(data: RunData, coin: str) -> Any | None:
    go, subplots = _go(), P.require("plotly.subplots", "report")
    net = data.tables["network"]
    if not {"difficulty", "mean_block_time_s"} <= set(net.columns):
        return None
    fig = subplots.make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    part = net[net["coin"] == coin]
    smooth = P.rolling_mean(part, "mean_block_time_s", 7)
    dscale, dunit = P.si_scale(float(part["difficulty"].max()), "")
    tscale, tunit = P.block_time_unit(data, coin)
    for i, arm in enumerate(data.arms):
        colour, n = P.ARM_COLOURS[i % len(P.ARM_COLOURS)], data.members(arm)
        _band_traces(fig, P.bands(part[part["arm"] == arm], "difficulty"), dscale, colour,
                     f"{data.arm_label(arm)}: difficulty", n, f"d{i}", row=1, col=1)
        _band_traces(fig, P.bands(smooth[smooth["arm"] == arm], "mean_block_time_s"), tscale,
                     colour, f"{data.arm_label(arm)}: block time", n, f"t{i}", row=2, col=1,
                     hover=".2f")
    rt = P.retargets(data, coin)
    if len(rt):
        on = part[part["arm"] == data.arms[0]].groupby("date")["difficulty"].median()
        y = on.reindex(pd.DatetimeIndex(rt["date"]).normalize()).to_numpy() / dscale
        fig.add_trace(go.Scatter(x=_days(rt["date"]), y=y, mode="markers",
                                 marker={"symbol": "triangle-down", "size": 8, "color": "black"},
                                 name="retarget (first run)",
                                 text=[f"{p:+.2f} %" for p in rt["change_pct"]],
                                 hovertemplate="retarget %{text}"), row=1, col=1)
    target = P.target_block_time(data, coin)
    if target:
        fig.add_hline(y=target / tscale, line={"dash": "dash", "color": "#555", "width": 1},
                      row=2, col=1, annotation_text=f"target {target / tscale:g} {tunit}",
                      annotation_position="bottom right", annotation_font_size=10)
    top = _event_lines(fig, data)
    fig.update_yaxes(title_text=ptext(f"difficulty{f' ({dunit})' if dunit else ''}"),
                     row=1, col=1)
    fig.update_yaxes(title_text=f"block time, 7-day mean ({tunit})", row=2, col=1)
    return _layout(fig, f"Difficulty and block time — {coin}", height=620, top=top)


def _arm_subplots(data: RunData, rows: int = 1) -> Any:
    subplots = P.require("plotly.subplots", "report")
    titles = [ptext(data.arm_label(a)) for a in data.arms] if len(data.arms) > 1 else None
    return subplots.make_subplots(rows=rows, cols=len(data.arms), shared_yaxes=True,
                                  subplot_titles=titles, horizontal_spacing=0.04)


def _stacked(fig: Any, wide: pd.DataFrame, names: Sequence[str], colours: Sequence[str],
             col: int, legend: bool, fmt: str, scale: float = 1.0, group: str = "",
             visible: bool = True) -> None:
    """A stacked area per column of `wide` in subplot `col`; `group` names the stack where
    one subplot holds several (shown one at a time, `visible`)."""
    go = _go()
    x = _days(wide.index)
    for k, key in enumerate(wide.columns):
        fig.add_trace(go.Scatter(x=x, y=wide[key].to_numpy() * scale, mode="lines",
                                 stackgroup=group or f"s{col}", line={"width": 0.5,
                                 "color": colours[k % len(colours)]}, **_named(names[k]),
                                 legendgroup=f"k{k}", showlegend=legend, visible=visible,
                                 hovertemplate=f"%{{y:{fmt}}}<extra>%{{meta}}</extra>"),
                          row=1, col=col)


def pfig_regions(data: RunData, coin: str) -> Any | None:
    leaves = data.leaf_regions()
    leaves = leaves[leaves["coin"] == coin]
    if not len(leaves):
        return None
    fig = _arm_subplots(data)
    order = P.key_order(leaves, "share", "region")
    palette = region_colours(data)  # one colour per region in every figure of the page
    colours = [palette[str(r)] for r in order]
    for c, arm in enumerate(data.arms, start=1):
        wide = P.stack_means(leaves, "share", "region", arm).reindex(columns=order,
                                                                     fill_value=0.0)
        _stacked(fig, wide, [data.label(r) for r in order], colours, c, c == 1, ".1f", 100.0)
        _event_lines(fig, data, arm, c, labels=False)
    fig.update_yaxes(title_text="share of hashrate (%)", range=[0, 100], col=1)
    return _layout(fig, f"Regional shares of {coin} hashrate (mean over runs)", height=480,
                   stacked=True)


def pfig_rigs(data: RunData) -> Any | None:
    leaves = data.leaf_regions()
    keys = [c.removeprefix("rigs_") for c in P.status_columns(leaves)]
    if not len(leaves) or not keys:
        return None
    fig = _arm_subplots(data)
    for c, arm in enumerate(data.arms, start=1):
        _stacked(fig, P.status_means(leaves, arm), [P.STATUS_LABELS[k] for k in keys],
                 [P.STATUS_COLOURS[k] for k in keys], c, c == 1, ",.0f")
        _event_lines(fig, data, arm, c, labels=False)
    fig.update_yaxes(title_text="rigs", col=1)
    return _layout(fig, "Rigs by status (every region; mean over runs)", height=460,
                   stacked=True)


#: Regions a report's rigs-by-region figure offers (those hit hardest first).
RIGS_REGIONS = 12


def pfig_rigs_by_region(data: RunData) -> Any | None:
    """Rigs by status in one region at a time, chosen from a menu: the regions whose rigs
    were ever forced off or hid, hardest hit first (in the world's total a country of a few
    per cent was a sliver, and how many of its rigs waited and came back could not be read)."""
    leaves = data.leaf_regions()
    keys = [c.removeprefix("rigs_") for c in P.status_columns(leaves)]
    hit_cols = [c for c in ("rigs_banned_off", "rigs_underground") if c in leaves.columns]
    if not len(leaves) or not keys or not hit_cols:
        return None
    hit = leaves[hit_cols].sum(axis=1).groupby(leaves["region"]).max()
    regions = list(hit[hit > 0].sort_values(ascending=False, kind="stable").index)
    regions = regions[:RIGS_REGIONS]
    if not regions:
        return None
    chosen = leaves[leaves["region"].isin(regions)]
    means = {arm: P.status_means(chosen, arm, by=["region"]) for arm in data.arms}
    fig = _arm_subplots(data)
    owner: list[int] = []  # each trace's region
    for i, region in enumerate(regions):
        for c, arm in enumerate(data.arms, start=1):
            mean = means[arm]
            wide = mean[mean.index.get_level_values("region") == region].droplevel("region")
            _stacked(fig, wide, [P.STATUS_LABELS[k] for k in keys],
                     [P.STATUS_COLOURS[k] for k in keys], c, c == 1, ",.0f",
                     group=f"r{i}c{c}", visible=i == 0)
            owner += [i] * len(keys)
    for c, arm in enumerate(data.arms, start=1):
        _event_lines(fig, data, arm, c, labels=False)
    buttons = [{"label": ptext(data.label(r)), "method": "restyle",
                "args": [{"visible": [o == i for o in owner]}]} for i, r in enumerate(regions)]
    fig.update_yaxes(title_text="rigs", col=1)
    fig = _layout(fig, "Rigs by status in one region (choose it in the menu; mean over runs)",
                  height=460, top=110, stacked=True)
    fig.update_layout(updatemenus=[{"buttons": buttons, "direction": "down", "x": 0.0,
                                    "xanchor": "left", "y": 1.02, "yanchor": "bottom",
                                    "showactive": True}])
    return fig


def pfig_pools(data: RunData, coin: str) -> Any | None:
    go = _go()
    pools = data.tables["pools"]
    pools = pools[pools["coin"] == coin]
    if not len(pools):
        return None
    fig = _arm_subplots(data)
    order = P.key_order(pools, "share", "pool")
    palette = named_colours([str(p) for p in order])  # as the PNG figure colours them
    for c, arm in enumerate(data.arms, start=1):
        wide = P.stack_means(pools, "share", "pool", arm)
        for pool in wide.columns:
            k = order.index(pool)
            fig.add_trace(go.Scatter(x=_days(wide.index), y=wide[pool].to_numpy() * 100.0,
                                     mode="lines", **_named(str(pool)), legendgroup=f"p{k}",
                                     line={"color": palette[str(pool)]}, showlegend=c == 1,
                                     hovertemplate="%{y:.1f} %<extra>%{meta}</extra>"),
                          row=1, col=c)
        _event_lines(fig, data, arm, c, labels=False)
    fig.update_yaxes(title_text="pool share (%)", rangemode="tozero", col=1)
    return _layout(fig, f"Pool shares of {coin} hashrate (mean over runs)")


def _flow_totals(data: RunData) -> dict[str, pd.DataFrame]:
    """Each arm's :func:`sim.plots.flow_totals`, for the migration figures to share."""
    return {arm: P.flow_totals(data, arm) for arm in data.arms}


def pfig_sankey(data: RunData, arm: str, totals: dict[str, pd.DataFrame] | None = None
                ) -> Any | None:
    """`arm`'s rigs departed, origin → destination; `totals` are every arm's
    :func:`sim.plots.flow_totals` (computed where not given)."""
    go = _go()
    totals = _flow_totals(data) if totals is None else totals
    tot = totals[arm]
    if not len(tot):
        return None
    # the nodes in one order for every arm's diagram (by rigs over all arms), so that a
    # region sits in the same place in each (each arm had its own order: Russia second in one,
    # third in the next); plotly stacks the nodes in the order given where few links cross,
    # but its layout moves nodes of a tangle (china-2021's fifteen pairs)
    moved = set(zip(tot["origin"], tot["destination"], strict=True))
    pairs = [pair for pair in P.flow_order(totals) if pair in moved]
    origins = list(dict.fromkeys(o for o, _ in pairs))
    dests = list(dict.fromkeys(d for _, d in pairs))
    labels = [ptext(data.label(o)) for o in origins] + \
        [ptext("→ " + data.label(d)) for d in dests]
    palette = region_colours(data)  # the colours of the regions chart and the arrivals
    colours = [palette.get(str(r), "#7f7f7f") for r in [*origins, *dests]]
    src = [origins.index(o) for o in tot["origin"]]
    dst = [len(origins) + dests.index(d) for d in tot["destination"]]
    fig = go.Figure(go.Sankey(
        arrangement="snap", valueformat=",.0f", valuesuffix=" rigs",
        node={"label": labels, "pad": 12, "thickness": 14, "color": colours},
        link={"source": src, "target": dst, "value": tot["rigs"].to_numpy(),
              "color": [_rgba(colours[s], 0.35) for s in src]}))
    title = "Migration: rigs departed, origin → destination (mean over runs)"
    return _layout(fig, title + (f" — {data.arm_label(arm)}" if arm else ""),
                   height=max(380, 26 * max(len(origins), len(dests)) + 120), hovermode=False)


def _panel_note(fig: Any, col: int, text: str) -> None:
    """`text` in the middle of subplot `col`, where an arm has nothing to draw: said as the PNG
    says it (plotly draws no axes without a trace)."""
    left, right = fig.get_subplot(1, col).xaxis.domain
    fig.add_annotation(text=text, x=(left + right) / 2, y=0.5, xref="paper", yref="paper",
                       xanchor="center", showarrow=False, font={"size": 14, "color": "#555"})


def pfig_choices(data: RunData) -> Any | None:
    """What the rigs chose, by region and arm: stacked bars of decisions.csv's totals."""
    go = _go()
    totals = {arm: P.choice_totals(data, arm) for arm in data.arms}
    if not any(len(t) for t in totals.values()):
        return None
    regions = P.choice_regions(totals)[::-1]
    fig = _arm_subplots(data)
    for c, arm in enumerate(data.arms, start=1):
        tot = totals[arm].reindex(regions, fill_value=0.0) if len(totals[arm]) else None
        if tot is None:
            _panel_note(fig, c, "no rig decided")
        for k, choice in enumerate(CHOICE_LABELS):
            if tot is None or choice not in tot.columns:
                continue
            fig.add_trace(go.Bar(
                y=[ptext(clip(data.label(r), 24)) for r in regions], x=tot[choice].to_numpy(),
                orientation="h", marker={"color": CHOICE_COLOURS[choice]},
                **_named(CHOICE_LABELS[choice]), legendgroup=f"k{k}", showlegend=c == 1,
                hovertemplate="%{meta}: %{x:,.0f} rigs<extra></extra>"), row=1, col=c)
    # one scale for every arm (each had its own: 645k and 574k decisions drew as long), and
    # the long title once, under the first arm that has bars, where three copies ran into
    # each other
    fig.update_xaxes(matches="x")
    first = next(c for c, arm in enumerate(data.arms, start=1) if len(totals[arm]))
    fig.update_xaxes(title_text="decisions over the run, in rigs (mean over runs)", col=first)
    return _layout(fig, "What the rigs chose: left early, or, forced off, relocated, went "
                   "underground, hibernated, were sold abroad or retired",
                   height=max(300, 34 * len(regions) + 150), barmode="stack",
                   hovermode="closest")


def pfig_earnings(data: RunData) -> Any | None:
    """Who earned what: each region's revenue over the run and its rigs' power and hosting
    costs, by arm (summary.csv, mean over runs), the regions in one order on one scale."""
    go = _go()
    books = P.earnings(data)
    if books is None:
        return None
    regions = books.regions[::-1]  # the most revenue in the top row
    unit = books.unit
    fig = _arm_subplots(data)
    names = [ptext(clip(data.label(r), 24)) for r in regions]
    for c, arm in enumerate(data.arms, start=1):
        tot = books.by_arm[arm][::-1]
        for k, field in enumerate(EARNINGS_LABELS):
            fig.add_trace(go.Bar(
                y=names, x=tot[field].to_numpy() / books.scale, orientation="h",
                marker={"color": EARNINGS_COLOURS[field]}, **_named(EARNINGS_LABELS[field]),
                legendgroup=f"e{k}",
                showlegend=c == 1, hovertemplate=f"%{{meta}}: %{{x:,.2f}} {unit}<extra></extra>"),
                row=1, col=c)
    fig.update_xaxes(matches="x")  # one scale for every arm
    fig.update_xaxes(title_text=f"{unit} over the run (mean over runs)", col=1)
    return _layout(fig, "Who earned what: revenue and costs by region",
                   height=max(300, 44 * len(regions) + 150), barmode="group",
                   hovermode="closest")


def pfig_arrivals(data: RunData, totals: dict[str, pd.DataFrame] | None = None
                  ) -> Any | None:
    """Rigs arrived by destination, cumulated; `totals` are every arm's
    :func:`sim.plots.flow_totals` (computed where not given). The destinations in the order
    the PNG's legends list them (:func:`sim.plots.dest_order`, most over all arms first; the
    first arm's own order, then the others' additions, had put them differently), `legendrank`
    keeping it where the first arm lacks one."""
    go = _go()
    if not len(data.tables["flows"]):
        return None
    totals = _flow_totals(data) if totals is None else totals
    fig = _arm_subplots(data)
    palette = region_colours(data)
    arrivals = {arm: P.cumulative_arrivals(data, arm) if len(totals[arm]) else pd.DataFrame()
                for arm in data.arms}
    order = P.dest_order(arrivals.values())
    shown: set[str] = set()
    for c, arm in enumerate(data.arms, start=1):
        cum = arrivals[arm]
        if not len(totals[arm]):
            _panel_note(fig, c, "no rigs moved")
        for dest in [d for d in order if d in cum.columns]:
            k = order.index(dest)
            fig.add_trace(go.Scatter(x=_days(cum.index), y=cum[dest].to_numpy(), mode="lines",
                                     **_named(data.label(dest)), legendgroup=f"d{k}",
                                     legendrank=k,
                                     line={"color": palette.get(str(dest), "#7f7f7f")},
                                     showlegend=dest not in shown,
                                     hovertemplate="%{y:,.0f}<extra>%{meta}</extra>"),
                          row=1, col=c)
            shown.add(dest)
        _event_lines(fig, data, arm, c, labels=False)
    fig.update_yaxes(title_text="rigs arrived (cumulative)", col=1)
    return _layout(fig, "Arrivals by destination (mean over runs)")


def pfig_facility(data: RunData, name: str) -> Any:
    go, subplots = _go(), P.require("plotly.subplots", "report")
    fig = subplots.make_subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=(
        "capacity and use (MW)", "monthly books (USD million, mean over runs)"))
    fac = data.tables["facilities"]
    fac = fac[fac["facility"] == name]
    books = P.monthly_books(data, name)
    for i, arm in enumerate(data.arms):
        colour, n, label = P.ARM_COLOURS[i % len(P.ARM_COLOURS)], data.members(arm), \
            (f"{arm}: " if arm else "")
        one = fac[fac["arm"] == arm]
        cap = one.groupby("date")["capacity_mw"].median()
        fig.add_trace(go.Scatter(x=_days(cap.index), y=cap.to_numpy(), mode="lines",
                                 line={"shape": "hv", "dash": "dash", "color": colour},
                                 name=ptext(label + "capacity"), hovertemplate="%{y:.1f} MW"),
                      row=1, col=1)
        _band_traces(fig, P.bands(one, "used_mw"), 1.0, colour, label + "in use", n,
                     f"u{i}", row=1, col=1, hover=".1f")
        b = books[books["arm"] == arm]
        months = _days(b["month"])
        if len(data.arms) == 1:
            fig.add_trace(go.Bar(x=months, y=b["revenue_usd"].to_numpy() / 1e6, name="revenue",
                                 marker_color="#2a9d55", hovertemplate="%{y:.3f}"), row=1, col=2)
            fig.add_trace(go.Bar(x=months, y=b["cost_usd"].to_numpy() / 1e6, name="cost",
                                 marker_color="#d62728", hovertemplate="%{y:.3f}"), row=1, col=2)
        fig.add_trace(go.Scatter(x=months, y=b["profit_usd"].to_numpy() / 1e6,
                                 mode="lines+markers", line={"color": colour},
                                 name=ptext(label + "profit"), hovertemplate="%{y:.3f}"),
                      row=1, col=2)
    fig.update_yaxes(title_text="MW", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="USD million per month", row=1, col=2)
    return _layout(fig, f"Facility {name}", height=420, barmode="group")


def pfig_energy(data: RunData) -> Any | None:
    subplots = P.require("plotly.subplots", "report")
    per = P.energy_series(data)
    if not len(per):
        return None
    fig = subplots.make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    escale, eunit = P.si_scale(float(per["energy_mwh"].max()) * 1e6, "Wh")  # as the PNG
    cscale, cunit = P.si_scale(float(per["co2_cum_t"].max()), "t")
    for i, arm in enumerate(data.arms):
        colour, n = P.ARM_COLOURS[i % len(P.ARM_COLOURS)], data.members(arm)
        part = per[per["arm"] == arm]
        _band_traces(fig, P.bands(part, "energy_mwh"), escale / 1e6, colour,
                     f"{data.arm_label(arm)}: energy", n, f"e{i}", row=1, col=1, hover=",.1f")
        _band_traces(fig, P.bands(part, "co2_cum_t"), cscale, colour,
                     f"{data.arm_label(arm)}: CO₂", n, f"c{i}", row=2, col=1, hover=",.1f")
    fig.update_yaxes(title_text=f"energy per day ({eunit})", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text=f"CO₂ emitted, cumulative ({cunit})", rangemode="tozero", row=2,
                     col=1)
    return _layout(fig, "Energy and CO₂", height=600, top=_event_lines(fig, data))


#: The timeline's lanes, top to bottom.
LANES = ("source articles", "policy", "pools", "services", "capacity", "deliveries",
         "difficulty", "other")


def _lane(kind: str) -> str:
    """The lane of an event kind; a kind not named here is 'other', not a government's."""
    if kind in POLICY_KINDS:
        return "policy"
    if kind.startswith("pool_"):
        return "pools"
    if kind.startswith("service_"):
        return "services"
    if kind in ("capacity", "facility_capacity"):
        return "capacity"
    if kind == "delivery":
        return "deliveries"
    return "difficulty" if kind == "retarget" else "other"


def _in_run(data: RunData, sources: Sequence[SourceEvent]) -> list[SourceEvent]:
    """The source events within the run's days (the timeline and the table show the same)."""
    start, end = data.span
    return [e for e in sources if start.date() <= e.date <= end.date()]


def pfig_timeline(data: RunData, sources: Sequence[SourceEvent]) -> Any:
    """Simulated events by lane; the source articles' events starred and labelled above. The
    time axis is the run's, from its first day to its last, whatever the events' dates."""
    go = _go()
    fig = go.Figure()
    ev = data.first_member()
    lanes = [lane for lane in LANES[1:] if any(_lane(str(x)) == lane for x in ev["kind"])]
    lifted, labels = policy_texts(data.scenario), region_labels(data.scenario)
    for lane in lanes:
        part = ev[[_lane(str(x)) == lane for x in ev["kind"]]]
        colour = "#7f7f7f" if lane == "other" else PALETTE[LANES.index(lane) - 1]
        text = [ptext(f"{a}: {d}" if a else d) for a, d in
                zip(part["actor"], [plain_event(str(k), str(d), lifted, labels) for k, d in
                                    zip(part["kind"], part["description"], strict=True)],
                    strict=True)]
        fig.add_trace(go.Scatter(x=_days(part["date"]), y=[lane] * len(part), mode="markers",
                                 marker={"size": 10, "color": colour, "symbol": "line-ns",
                                         "line": {"width": 2, "color": colour}},
                                 name=lane, text=text, hovertemplate="%{x}<br>%{text}",
                                 cliponaxis=False))
    shown = _in_run(data, sources)
    clusters = P.cluster_markers([P.Marker(pd.Timestamp(e.date), e.title, e.title)
                                  for e in shown], data.span, width=56)
    if shown:
        lanes.insert(0, LANES[0])
        fig.add_trace(go.Scatter(
            x=[e.date.isoformat() for e in shown], y=[LANES[0]] * len(shown),
            mode="markers", marker={"size": 12, "symbol": "star", "color": "black"},
            name="source articles", text=[ptext(f"{e.title} — {e.source}") for e in shown],
            hovertemplate="%{x}<br>%{text}", cliponaxis=False))
        for first, label in clusters:
            fig.add_annotation(x=first.date.strftime("%Y-%m-%d"), y=1.0, yref="paper",
                               text=ptext(label), showarrow=False,
                               **_label_side(first.date, label, data.span, 10, 40),
                               yanchor="bottom", font={"size": 10},
                               hovertext=ptext(first.text))
    start, end = data.span
    fig.update_xaxes(type="date", range=[start.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d")])
    if lanes:  # (invisible ticks keep a mark on the first day off the lane names)
        fig.update_yaxes(categoryorder="array", categoryarray=lanes[::-1], type="category",
                         ticks="outside", ticklen=10, tickcolor="rgba(0,0,0,0)")
    else:
        fig.update_yaxes(visible=False)
        fig.add_annotation(text="No events in this run: no government, pool, service or "
                           "facility acted and the difficulty was not reset.", x=0.5, y=0.5,
                           xref="paper", yref="paper", showarrow=False,
                           font={"size": 14, "color": "#555"})
    top = _label_room([label for _, label in clusters], 10, 40) if shown else 60
    return _layout(fig, "Event timeline (first run; ★ events the source articles report)",
                   height=620 if shown else 420, hovermode="closest", top=top)


def pfig_sensitivity(data: RunData) -> Any | None:
    go, subplots = _go(), P.require("plotly.subplots", "report")
    sens = data.sensitivity
    if sens is None or not len(sens) or "metric" not in sens or "parameter" not in sens:
        return None
    arm = sens["arm"].astype(str) if "arm" in sens else pd.Series("", index=sens.index)
    panels = list(dict.fromkeys(zip(sens["metric"].astype(str), arm, strict=True)))[:8]
    several_arms = arm.nunique() > 1
    sobol = "ST" in sens.columns
    names = ("S1", "ST") if sobol else ("mu_star", "sigma")
    fig = subplots.make_subplots(
        rows=len(panels), cols=1,
        subplot_titles=[ptext(f"{m} — {a}" if several_arms else m) for m, a in panels],
        vertical_spacing=min(0.08, 0.5 / max(len(panels), 1)))
    for r, (metric, arm_name) in enumerate(panels, start=1):
        part = sens[(sens["metric"].astype(str) == metric) & (arm == arm_name)]
        for k, col in enumerate(names):
            if col not in part:
                continue
            value = pd.to_numeric(part[col], errors="coerce").to_numpy()
            err = None
            if f"{col}_low" in part and f"{col}_high" in part:  # bootstrap interval
                low = pd.to_numeric(part[f"{col}_low"], errors="coerce").to_numpy()
                high = pd.to_numeric(part[f"{col}_high"], errors="coerce").to_numpy()
                err = {"type": "data", "symmetric": False, "array": high - value,
                       "arrayminus": value - low}
            elif f"{col}_conf" in part:  # SALib's half-width
                err = {"type": "data",
                       "array": pd.to_numeric(part[f"{col}_conf"], errors="coerce").to_numpy()}
            fig.add_trace(go.Bar(y=[ptext(p) for p in part["parameter"].astype(str)],
                                 x=value, orientation="h", name=col, error_x=err,
                                 legendgroup=col, marker_color=PALETTE[k], showlegend=r == 1),
                          row=r, col=1)
    title = "Sensitivity: Sobol indices (S1 first order, ST total)" if sobol else \
        "Sensitivity: Morris screening (μ*, σ)"
    return _layout(fig, title, height=160 + 200 * len(panels), barmode="group",
                   hovermode="closest")


# ---------------------------------------------------------------------------- the page


def _figure_div(fig: Any, div_id: str, data: RunData | None = None) -> str:
    """A figure as a div; given `data`, its x axes are dates: a run of under two weeks gets a
    tick per day (plotly would mark hours, and the data are daily)."""
    pio = P.require("plotly.io", "report")
    if data is not None and (data.span[1] - data.span[0]).days < 14:
        fig.update_xaxes(dtick=86_400_000, tickformat="%d %b %Y")
    return str(pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id,
                           config=CONFIG, default_height=f"{fig.layout.height}px"))


#: What each section shows, in plain words for a class (under the section's heading).
CAPTIONS = {
    "summary": (
        "The headline numbers. The shock is the first action of a government, pool or "
        "exchange (or the date the scenario names); the level before it is the average of the"
        " 7 days before it (in a run with no shock, of its first 7 days). The trough is the "
        "lowest point after the shock, as a 7-day average so that one unlucky day does not "
        "count; the drop is how far the trough is below the level before the shock. Each run "
        "is one possible history: with several runs a number is the middle one (the median) "
        "and [a – b] the range that 90 % of the runs fall in."),
    "hashrate": (
        "The hashrate is how many guesses a second all the miners together make to find the "
        "next block: it shows how much mining is switched on. 1 EH/s is a billion billion "
        "(10¹⁸) guesses a second, 1 TH/s a million million (10¹²). Dotted lines mark events "
        "(labelled above); a shaded band spans the runs; a dashed black line, where there is "
        "one, is what was really measured."),
    "difficulty": (
        "The difficulty is how hard it is to find a block. A Bitcoin-style coin resets it "
        "after a fixed number of blocks (2,016 for Bitcoin; ▼ marks each reset in the first "
        "run) so that blocks come at the target pace again: when miners switch off, blocks "
        "come more slowly (lower panel, above the dashed target line) until the next reset "
        "makes blocks easier to find. A coin that adjusts at every block (such as Ethereum in"
        " 2021) follows its hashrate day by day."),
    "timeline": (
        "Every event of the first run, one row per kind: policy (governments), pools, "
        "services (exchanges and wallets), capacity (room for rigs, in megawatts), "
        "deliveries (new rigs a facility bought), difficulty resets, and other events. ★ "
        "marks what the news reported at the time, to compare. Hover over a mark to read "
        "it."),
    "regions": (
        "Each region's share of all the hashrate: the layers add up to 100 %. A region made "
        "of smaller ones (a country and its provinces) is shown through its parts."),
    "rigs": (
        "Every mining machine (rig) by what it is doing: online = mining; offline = switched "
        "off because mining would lose money (or to wait and see); banned = switched off by a"
        " ban; in transit = being shipped abroad; queued = arrived, waiting for a place to "
        "plug in; underground = mining in secret; retired = scrapped. The total grows as "
        "miners buy new rigs. Below, the same for one region at a time, the regions a ban hit "
        "first (choose one in the menu): how many of its rigs were switched off, hid, waited "
        "and came back. Rigs shipped abroad count where they are going."),
    "pools": (
        "A pool joins many miners so that they share the rewards and earn steadily. Each line"
        " is a pool's share of all the hashrate; a pool that closes drops to zero."),
    "migration": (
        "Where rigs moved: on the left the regions they left, on the right where they were "
        "sent (the width is the number of rigs). Below, how many had arrived by each date: "
        "shipping takes weeks, so arrivals come later than departures."),
    "choices": (
        "What the rigs did when a ban or a power cut reached them: some left early, as soon "
        "as a ban was announced; the rigs forced off were shipped abroad (relocated), sold to "
        "a buyer who took them abroad, mined in secret (underground), waited at home "
        "(hibernated) or were scrapped (retired). The bars count decisions, not rigs: a rig "
        "that waits decides again later (after 30 days in the bundled scenarios) and is "
        "counted again, so over a long ban a bar can be longer than the region has rigs."),
    "earnings": (
        "Who earned what: each region's mining revenue over the run (the block rewards its "
        "rigs won, in dollars, before their pools' fees) and what those rigs paid for power "
        "and hosting. The difference is what the miners there kept. Comparing arms shows who "
        "gained from a policy and who lost."),
    "facilities": (
        "Each mining site: how much power (MW) it can supply to rigs and how much is used, "
        "and on the right its money each month (revenue, cost, profit). A hosting farm is paid"
        " its rigs' power bills and fees; a site that mines for itself earns its rigs' "
        "rewards, after its pool's fee."),
    "energy": (
        "Electricity used by all the rigs each day, and the CO₂ released since the start (t ="
        " tonnes; k = thousand, M = million; Wh = watt-hours, G = billion, T = million "
        "million)."),
}


def _section(sid: str, title: str, body: str) -> str:
    caption = f"<p class='caption'>{esc(CAPTIONS[sid])}</p>" if sid in CAPTIONS else ""
    return f"<section id='{sid}'><h2>{esc(title)}</h2>{caption}{body}</section>"


def _figures(data: RunData, sources: Sequence[SourceEvent]) -> list[tuple[str, str, str]]:
    """(section id, title, HTML) for every figure section; a figure with nothing to show (a
    table the results folder lacks, no facility, no migration) is left out."""
    out: list[tuple[str, str, str]] = []
    coins = data.coins

    def divs(make: Any, name: str) -> str:
        figs = [(i, make(data, c)) for i, c in enumerate(coins)]
        return "".join(_figure_div(f, f"fig-{name}-{i}", data) for i, f in figs if f is not None)

    out.append(("hashrate", "Network hashrate", divs(pfig_hashrate, "hashrate")))
    difficulty = divs(pfig_difficulty, "difficulty")
    if difficulty:
        out.append(("difficulty", "Difficulty and block time", difficulty))
    out.append(("timeline", "Event timeline",
                _figure_div(pfig_timeline(data, sources), "fig-timeline", data)
                + _events_html(data) + _sources_html(data, sources)))
    regions = divs(pfig_regions, "regions")
    if regions:
        out.append(("regions", "Where the hashrate is", regions))
    rigs = pfig_rigs(data)
    if rigs is not None:
        by_region = pfig_rigs_by_region(data)
        out.append(("rigs", "Rigs by status", _figure_div(rigs, "fig-rigs", data) + (
            _figure_div(by_region, "fig-rigs-region", data) if by_region is not None else "")))
    pools = divs(pfig_pools, "pools")
    if pools:
        out.append(("pools", "Pools", pools))
    flows = _flow_totals(data)  # once for every arm's diagram and the arrivals
    sankeys = [(i, arm, pfig_sankey(data, arm, flows)) for i, arm in enumerate(data.arms)]
    migration = [_figure_div(f, f"fig-sankey-{i}") if f is not None else
                 f"<p class='note'>{esc(_no_moves(data, arm))}</p>" for i, arm, f in sankeys]
    arrivals = pfig_arrivals(data, flows)
    if arrivals is not None:
        migration.append(_figure_div(arrivals, "fig-arrivals", data))
    if "flows" not in data.missing:
        out.append(("migration", "Migration", "".join(migration)))
    choices = pfig_choices(data)
    if choices is not None:
        out.append(("choices", "What the rigs chose", _figure_div(choices, "fig-choices")))
    earned = pfig_earnings(data)
    if earned is not None:
        out.append(("earnings", "Who earned what", _figure_div(earned, "fig-earnings")))
    names = list(dict.fromkeys(data.tables["facilities"]["facility"].tolist()))[:6]
    if names:
        facilities = [_figure_div(pfig_facility(data, n), f"fig-facility-{i}", data)
                      for i, n in enumerate(names)]
        out.append(("facilities", "Facility books", "".join(facilities)))
    energy = pfig_energy(data)
    if energy is not None:
        out.append(("energy", "Energy and CO₂", _figure_div(energy, "fig-energy", data)))
    sens = pfig_sensitivity(data)
    if sens is not None:
        out.append(("sensitivity", "Sensitivity",
                    _figure_div(sens, "fig-sensitivity") + _table_html(data.sensitivity)))
    return out


def _no_moves(data: RunData, arm: str) -> str:
    """In place of an arm's migration diagram where none of its rigs moved."""
    where = f"the arm {data.arm_label(arm)}" if data.experiment else "this run"
    return f"No rigs moved in {where}, so there is no diagram of where they went."


def _table_html(df: pd.DataFrame | None, limit: int = 200) -> str:
    if df is None or not len(df):
        return ""
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for rec in df.head(limit).itertuples(index=False):
        cells = "".join(f"<td>{esc(_fmt(v))}</td>" for v in rec)
        rows.append(f"<tr>{cells}</tr>")
    more = f"<p class='note'>… {len(df) - limit} more rows</p>" if len(df) > limit else ""
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>{more}")


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "" if not math.isfinite(value) else f"{value:.4g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _events_html(data: RunData) -> str:
    ev = data.first_member()
    if not len(ev):
        return ""
    shown = ev[ev["kind"] != "retarget"]
    lifted, labels = policy_texts(data.scenario), region_labels(data.scenario)
    rows = "".join(
        f"<tr><td>{esc(d.strftime('%Y-%m-%d'))}</td><td>{esc(k)}</td><td>{esc(a)}</td>"
        f"<td>{esc(data.label(r) if r else '')}</td>"
        f"<td>{esc(plain_event(str(k), str(t), lifted, labels))}</td></tr>"
        for d, k, a, r, t in zip(shown["date"], shown["kind"], shown["actor"],
                                 shown.get("region", [""] * len(shown)), shown["description"],
                                 strict=True))
    n_rt = int((ev["kind"] == "retarget").sum())
    return (f"<details><summary>Simulated events of the first run ({len(shown)} events and "
            f"{n_rt} difficulty retargets)</summary><div class='scroll'><table><thead><tr>"
            "<th>date</th><th>kind</th><th>actor</th><th>region</th><th>what happened</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></div></details>")


def _sources_html(data: RunData, sources: Sequence[SourceEvent]) -> str:
    shown = _in_run(data, sources)
    if not shown:
        return ""
    rows = []
    for e in shown:
        link = ""
        if e.url and e.url.startswith(("https://", "http://")):
            link = f" <a href='{esc(e.url)}' rel='noreferrer noopener'>link</a>"
        rows.append(f"<tr><td>{esc(e.date.isoformat())}</td><td>{esc(e.title)}</td>"
                    f"<td>{esc(e.source)}{link}</td></tr>")
    return ("<h3>What the sources report</h3><table class='sources'><thead><tr><th>date</th>"
            f"<th>event</th><th>source</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _scenario_yaml(data: RunData) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)  # keeps the scenario's key order ("safe" sorts keys)
    yaml.default_flow_style = False
    yaml.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    buf = io.StringIO()
    yaml.dump(data.scenario, buf)
    return buf.getvalue()


def _provenance_html(data: RunData) -> str:
    meta = {k: v for k, v in data.meta.items() if k not in ("scenario", "base_scenario")}
    rows = []
    for key, value in meta.items():
        if isinstance(value, dict):
            text = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            text = " ".join(value)
        elif isinstance(value, list | dict):
            text = json.dumps(value, sort_keys=True)
        else:
            text = str(value)
        rows.append(f"<tr><th>{esc(key)}</th><td>{esc(text)}</td></tr>")
    where = f"<p class='note'>Files: {esc(data.source)}</p>" if data.source else ""
    return f"<table class='prov'><tbody>{''.join(rows)}</tbody></table>{where}"


STYLE = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222}
header{background:#1f3b57;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:4px 0;max-width:70em;opacity:.9}nav{padding:6px 28px;background:#eef2f6;
position:sticky;top:0;z-index:10}nav a{margin-right:14px;color:#1f3b57;text-decoration:none}
main{padding:0 28px 40px;max-width:1400px}section{margin-top:28px}h2{border-bottom:1px solid
#ccd;padding-bottom:4px}table{border-collapse:collapse;font-size:13px;margin:8px 0}
td,th{border:1px solid #dde;padding:3px 8px;text-align:left;vertical-align:top}
thead th{background:#f2f4f7}.n,.note{color:#667;font-size:12px}.scroll{max-height:420px;
overflow:auto}pre{background:#f7f8fa;padding:10px;overflow:auto;max-height:600px;
font-size:12px}details{margin:10px 0}summary{cursor:pointer;color:#1f3b57}
.caption{max-width:70em;color:#333}
"""


def build_report(results: RunData | Results | str | os.PathLike[str]) -> str:
    """The whole page as a string (deterministic for the same inputs).

    `results` is a `sim.Results`, a results folder or a `RunData` (see `sim.plots.run_data`).
    """
    P.require("plotly", "report")
    import plotly.offline

    data = P.run_data(results)
    sources = source_events(data.scenario)
    sections = [("summary", "Summary", summary_table_html(data))]
    sections += _figures(data, sources)
    scenario = (f"<details><summary>The scenario as run (resolved, every default filled)"
                f"</summary><pre>{esc(_scenario_yaml(data))}</pre></details>"
                if data.scenario else "<p>The scenario was not recorded.</p>")
    if data.samples is not None and len(data.samples):
        scenario += ("<details><summary>Parameter samples</summary>"
                     f"{_table_html(data.samples)}</details>")
    sections.append(("scenario", "Scenario", scenario))
    sections.append(("provenance", "Provenance", _provenance_html(data)))
    nav = "".join(f"<a href='#{sid}'>{esc(title)}</a>" for sid, title, _ in sections)
    body = "".join(_section(sid, title, content) for sid, title, content in sections)
    kind = "experiment" if data.experiment else "run"
    arms = (f"<p>Arms: {esc(', '.join(data.arm_label(a) for a in data.arms))}</p>"
            if len(data.arms) > 1 else "")
    desc = esc(data.scenario.get("description", ""))
    note = missing_note(data)
    missing = f"<p class='missing'>Note: {esc(note)}.</p>" if note else ""
    title = esc(f"hashsim {kind}: {data.name}")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title><style>{STYLE}</style>\n"
        f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script>\n"
        f"</head><body><header><h1>{title}</h1><p>{desc}</p>{arms}{missing}</header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>\n")


def write_report(results: RunData | Results | str | os.PathLike[str],
                 target: str | os.PathLike[str] | None = None) -> Path:
    """Write the page to `target` (default: ``report.html`` in the results directory).

    `results` is a `sim.Results`, a results folder or a `RunData` (see `sim.plots.run_data`);
    a `sim.Results` not read from a folder needs a `target`.
    """
    data = P.run_data(results)
    if target is None:
        if data.source is None:
            raise P.NotResultsError("give a file name for the report (these results were not "
                                    "read from a results folder)")
        target = data.source / "report.html"
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    P.write_atomic(path, build_report(data).encode("utf-8"))
    return path
