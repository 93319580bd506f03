"""Figures of a run or an experiment: static matplotlib files.

The figures draw from :mod:`sim.plot_series` (what a figure shows of a :class:`RunData`, read
by :mod:`sim.rundata`) in the look of :mod:`sim.plot_style`. This module re-exports the names of
those modules that callers know as ``sim.plots.*``.

``write_figures`` renders PNG or SVG with the Agg backend. SVG files are byte-identical between
runs: a fixed ``svg.hashsalt``, glyphs as paths, no date in the metadata. It, the report and the
notebook display take a run as a `sim.Results`, a results folder or a `RunData`
(:func:`run_data` turns each into a `RunData`).

matplotlib is an optional extra (``pip install 'hashsim[plot]'``) imported inside functions.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from sim.errors import HashsimError
from sim.plot_series import (
    MARKER_KINDS,
    MOST_ROWS,
    Earnings,
    Marker,
    bands,
    block_time_unit,
    choice_regions,
    choice_totals,
    cumulative_arrivals,
    dest_order,
    earnings,
    energy_series,
    flow_order,
    flow_totals,
    key_order,
    markers,
    member_sum,
    monthly_books,
    observed_hashrate,
    order_over_arms,
    retargets,
    rolling_mean,
    stack_means,
    status_columns,
    status_means,
    target_block_time,
)
from sim.plot_style import (
    ARM_COLOURS,
    CHOICE_COLOURS,
    CHOICE_LABELS,
    EARNINGS_COLOURS,
    EARNINGS_LABELS,
    PALETTE,
    STATUS_COLOURS,
    STATUS_LABELS,
    STATUSES,
    STYLE,
    arm_grid,
    clip,
    cluster_markers,
    counts_axis,
    date_axis,
    draw_band,
    draw_markers,
    label_points,
    named_colours,
    region_colours,
    require,
    si_scale,
    subplots,
)
from sim.rundata import (
    MEMBER,
    TABLES,
    MissingExtraError,
    MissingPathError,
    NotResultsError,
    RunData,
    load_run,
    usd_scale,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.results import Results

__all__ = [
    "ARM_COLOURS", "FIGURES", "FIGURE_FUNCS", "MARKER_KINDS", "MEMBER", "MOST_ROWS", "PALETTE",
    "STATUSES", "STATUS_COLOURS", "STATUS_LABELS", "TABLES", "Earnings", "Marker",
    "MissingExtraError", "MissingPathError", "NotResultsError", "RunData", "bands",
    "block_time_unit", "check_figure", "choice_regions", "choice_totals", "clip",
    "cluster_markers", "cumulative_arrivals", "dest_order", "earnings", "energy_series",
    "fig_choices", "fig_difficulty", "fig_earnings", "fig_energy", "fig_facilities", "fig_flows",
    "fig_hashrate", "fig_pools", "fig_regions", "fig_rigs", "flow_order", "flow_totals",
    "key_order", "load_run", "markers", "member_sum", "monthly_books", "observed_hashrate",
    "order_over_arms", "region_colours", "render", "require", "retargets", "rolling_mean",
    "run_data", "si_scale", "stack_means", "status_columns", "status_means",
    "target_block_time", "usd_scale", "write_atomic", "write_figures",
]

FIGURES = ("hashrate", "difficulty", "regions", "rigs", "pools", "flows", "choices", "earnings",
           "facilities", "energy")


def run_data(results: RunData | Results | str | os.PathLike[str]) -> RunData:
    """The data the figures and the report draw from, however the run is given.

    A `RunData` as it is; a results or experiment folder (a path) read by :func:`load_run`;
    an in-memory `sim.Results` (what ``sim.run`` returns) by ``RunData.from_results``.
    """
    if isinstance(results, RunData):
        return results
    if isinstance(results, str | os.PathLike):
        return load_run(results)
    from sim.results import Results

    if isinstance(results, Results):
        return RunData.from_results(results)
    raise TypeError(f"expected a sim.Results, a results folder (a path) or a RunData, not "
                    f"{type(results).__name__}")


def check_figure(name: object) -> str:
    """`name` if it is a figure of :data:`FIGURES`, else a ValueError that lists them."""
    if not isinstance(name, str) or name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; one of {', '.join(FIGURES)}")
    return name


def fig_hashrate(data: RunData) -> Figure:
    """Network hashrate per coin, arms' medians and bands, observed overlay, policy markers."""
    coins = data.coins
    fig, axes = subplots(len(coins), 1, figsize=(7.5, 3.4 * len(coins)), squeeze=False)
    net, marks, pad = data.tables["network"], markers(data), 6.0
    for ax, coin in zip(axes[:, 0], coins, strict=True):
        part = net[net["coin"] == coin]
        obs = observed_hashrate(data, coin)
        scale, unit = data.hashrate_unit(coin, part["hashrate_hs"])
        for i, arm in enumerate(data.arms):
            b = bands(part[part["arm"] == arm], "hashrate_hs")
            draw_band(ax, b, scale, ARM_COLOURS[i % len(ARM_COLOURS)], data.arm_label(arm),
                      data.members(arm))
        if obs is not None:
            ax.plot(obs["date"], obs["hashrate_hs"] / scale, color="black", lw=1.0, ls="--",
                    label="observed (7-day mean)")
        pad = draw_markers(ax, marks, data.span, labels=ax is axes[0, 0]) or pad
        ax.set_ylabel(f"{coin} network hashrate ({unit})")
        ax.set_ylim(bottom=0)
        date_axis(ax)
        ax.legend(loc="best")
    axes[0, 0].set_title(f"Network hashrate — {data.name}", pad=pad)
    return fig


def fig_difficulty(data: RunData) -> Figure | None:
    """Difficulty and 7-day mean block time per coin, with the first run's retargets marked."""
    net = data.tables["network"]
    if not {"difficulty", "mean_block_time_s"} <= set(net.columns):
        return None
    coins = data.coins
    fig, axes = subplots(2 * len(coins), 1, figsize=(7.5, 5.2 * len(coins)), sharex=True,
                             squeeze=False)
    marks, pad = markers(data), 6.0
    smooth = rolling_mean(net, "mean_block_time_s", 7, by=["coin"])
    for k, coin in enumerate(coins):
        ax_d, ax_t = axes[2 * k, 0], axes[2 * k + 1, 0]
        part = net[net["coin"] == coin]
        dscale, dunit = si_scale(float(part["difficulty"].max()), "")
        tscale, tunit = block_time_unit(data, coin)
        for i, arm in enumerate(data.arms):
            colour, n = ARM_COLOURS[i % len(ARM_COLOURS)], data.members(arm)
            draw_band(ax_d, bands(part[part["arm"] == arm], "difficulty"), dscale, colour,
                      data.arm_label(arm), n)
            sm = smooth[(smooth["coin"] == coin) & (smooth["arm"] == arm)]
            draw_band(ax_t, bands(sm, "mean_block_time_s"), tscale, colour, data.arm_label(arm),
                      n)
        rt = retargets(data, coin)
        if len(rt):
            on = part[part["arm"] == data.arms[0]].groupby("date")["difficulty"].median()
            y = on.reindex(pd.DatetimeIndex(rt["date"]).normalize()).to_numpy() / dscale
            retargeted = ax_d.scatter(rt["date"], y, marker="v", s=14, color="black", zorder=4,
                                      label="retarget (first run)")
            # the largest changes first: where labels crowd, those are the ones kept
            big = sorted(((i, pct) for i, pct in enumerate(rt["change_pct"]) if abs(pct) >= 10),
                         key=lambda item: -abs(item[1]))
            label_points(ax_d, retargeted, [(i, f"{pct:+.1f} %", pct > 0) for i, pct in big],
                         avoid=list(ax_d.lines))
        target = target_block_time(data, coin)
        if target:
            ax_t.axhline(target / tscale, color="0.3", lw=0.8, ls="--", label="target")
        ax_d.set_ylabel(f"{coin} difficulty" + (f" ({dunit})" if dunit else ""))
        ax_t.set_ylabel(f"{coin} block time, 7-day mean ({tunit})")
        for ax in (ax_d, ax_t):
            pad = draw_markers(ax, marks, data.span, labels=ax is axes[0, 0]) or pad
            date_axis(ax)
            ax.legend(loc="best")
    axes[0, 0].set_title(f"Difficulty and block time — {data.name}", pad=pad)
    return fig


def fig_regions(data: RunData) -> Figure | None:
    """Stacked shares of the coin's hashrate by (leaf) region; arms side by side."""
    leaves, coins = data.leaf_regions(), data.coins
    if not len(leaves):
        return None
    palette = region_colours(data)
    fig, axes = arm_grid(len(coins), data.arms, 3.6)
    for r, coin in enumerate(coins):
        for c, arm in enumerate(data.arms):
            ax = axes[r, c]
            one = leaves[leaves["coin"] == coin]
            wide = stack_means(one, "share", "region", arm)
            if len(wide.columns):
                ax.stackplot(wide.index, (wide.to_numpy().T * 100.0),
                             labels=[clip(data.label(x)) for x in wide.columns],
                             colors=[palette[x] for x in wide.columns], lw=0)
            draw_markers(ax, markers(data, arm), data.span, labels=False)
            ax.set_ylim(0, 100)
            if len(coins) > 1 or arm:
                ax.set_title(f"{coin}" + (f" — {data.arm_label(arm)}" if arm else ""))
            date_axis(ax)
        axes[r, 0].set_ylabel("share of hashrate (%)")
        axes[r, -1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), reverse=True)
    n = data.members(data.arms[0])
    what = f" of {coins[0]} hashrate" if len(coins) == 1 else ""
    runs = f" (mean of {n} runs)" if n > 1 else ""
    fig.suptitle(f"Regional shares{what} — {data.name}{runs}", y=1.02)
    return fig


def fig_rigs(data: RunData) -> Figure | None:
    """Rigs by status over time (every leaf region and coin), stacked; arms side by side."""
    leaves = data.leaf_regions()
    if not len(leaves) or not status_columns(leaves):
        return None
    fig, axes = arm_grid(1, data.arms, 3.8)
    pads = []
    for c, arm in enumerate(data.arms):
        ax = axes[0, c]
        mean = status_means(leaves, arm)
        if len(mean):
            keys = [x.removeprefix("rigs_") for x in mean.columns]
            ax.stackplot(mean.index, mean.to_numpy().T, labels=[STATUS_LABELS[k] for k in keys],
                         colors=[STATUS_COLOURS[k] for k in keys], lw=0)
        pads.append(draw_markers(ax, markers(data, arm), data.span, labels=True))
        ax.set_ylim(bottom=0)
        date_axis(ax)
        counts_axis(ax)
    # one height for every arm's title (an arm without events had its title lower than its
    # neighbours'), and the long name once above them: in each panel's title it ran over the
    # next panel's
    pad = max(pads)
    for c, arm in enumerate(data.arms):
        n = data.members(arm)
        runs = f" (mean of {n} runs)" if n > 1 else ""
        head = data.arm_label(arm) if len(data.arms) > 1 else f"Rigs by status — {data.name}"
        axes[0, c].set_title(head + runs, pad=pad)
    if len(data.arms) > 1:
        above = (pad + 2.2 * cast(float, STYLE["axes.titlesize"])) / 72.0 / fig.get_figheight()
        fig.suptitle(f"Rigs by status — {data.name}", y=fig.subplotpars.top + above,
                     va="bottom")
    axes[0, 0].set_ylabel("rigs")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), reverse=True)
    return fig


def fig_pools(data: RunData) -> Figure | None:
    """Pool shares of each coin's hashrate (mean over runs); arms side by side."""
    pools, coins = data.tables["pools"], data.coins
    if not len(pools):
        return None
    fig, axes = arm_grid(len(coins), data.arms, 3.4)
    for r, coin in enumerate(coins):
        for c, arm in enumerate(data.arms):
            ax = axes[r, c]
            one = pools[pools["coin"] == coin]
            wide = stack_means(one, "share", "pool", arm)
            palette = named_colours(list(key_order(one, "share", "pool")))
            for pool in wide.columns:
                ax.plot(wide.index, wide[pool] * 100.0, color=palette[pool], lw=1.2,
                        label=clip(pool))
            draw_markers(ax, markers(data, arm), data.span, labels=False)
            ax.set_ylim(bottom=0)
            if len(coins) > 1 or arm:
                ax.set_title(f"{coin}" + (f" — {data.arm_label(arm)}" if arm else ""))
            date_axis(ax)
        axes[r, 0].set_ylabel("pool share of hashrate (%)")
        axes[r, -1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    what = f" of {coins[0]} hashrate" if len(coins) == 1 else ""
    fig.suptitle(f"Pool shares{what} — {data.name}", y=1.02)
    return fig


def fig_flows(data: RunData) -> Figure | None:
    """Migration: rigs per origin → destination, and cumulative arrivals by destination."""
    if not len(data.tables["flows"]):
        return None
    # one scale per column for every arm, so that bars and arrivals compare across arms (each
    # panel had its own: 80k and 90k rigs drew as long; the arrivals' counts too)
    owns = {arm: flow_totals(data, arm) for arm in data.arms}
    # an arm in which no rig moved gets a low row for its one line (a full row of blank)
    heights = [3.8 if len(owns[arm]) else 1.2 for arm in data.arms]
    fig, axes = subplots(len(data.arms), 2, figsize=(11.0, sum(heights)), squeeze=False,
                         sharex="col", gridspec_kw={"width_ratios": [1, 1.3], "hspace": 0.45,
                                                    "height_ratios": heights})
    for ax in axes[1:, 1]:
        ax.sharey(axes[0, 1])
    palette = region_colours(data)
    # one order of the pairs (the MOST_ROWS largest over all arms) and of the destinations for every
    # arm, so that a pair sits in the same row of each arm's bars and a destination in the
    # same place of each legend; a pair an arm did not move rigs along has no bar there
    pairs = flow_order(owns, MOST_ROWS)[::-1]
    arrivals = {arm: cumulative_arrivals(data, arm) for arm in data.arms}
    dests = dest_order(arrivals.values())
    for r, arm in enumerate(data.arms):
        own = owns[arm]
        title = f"origin → destination{' — ' + data.arm_label(arm) if arm else ''}"
        if not len(own):  # an arm in which no rig moved: say so, draw no empty axes
            for ax in axes[r]:
                ax.set_axis_off()
            axes[r, 0].set_title(title)
            axes[r, 0].text(0.5, 0.5, "no rigs moved", transform=axes[r, 0].transAxes,
                            ha="center", va="center", color="0.35")
            continue
        rigs = own.set_index(["origin", "destination"])["rigs"]
        tot = rigs.reindex(pd.MultiIndex.from_tuples(pairs), fill_value=0.0).rename_axis(
            ["origin", "destination"]).rename("rigs").reset_index()
        ax = axes[r, 0]
        names = [f"{clip(data.label(o), 24)} → {clip(data.label(d), 24)}"
                 for o, d in zip(tot["origin"], tot["destination"], strict=True)]
        ax.barh(range(len(tot)), tot["rigs"], color=ARM_COLOURS[r % len(ARM_COLOURS)])
        ax.set_yticks(range(len(tot)), names)
        ax.set_xlabel("rigs departed over the run")
        counts_axis(ax, "x")
        ax.set_title(title)
        cum = arrivals[arm]
        ax = axes[r, 1]
        for dest in [d for d in dests if d in cum.columns]:
            ax.plot(cum.index, cum[dest], color=palette[str(dest)], lw=1.2,
                    label=clip(data.label(dest)))
        draw_markers(ax, markers(data, arm), data.span, labels=False)
        ax.set_ylabel("rigs arrived (cumulative)")
        counts_axis(ax)
        ax.set_title("arrivals by destination")
        date_axis(ax)
        if len(cum.columns):  # beside the axes: inside, the steepest curve ran through it
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for ax in axes.ravel():
        ax.tick_params(axis="x", labelbottom=True)  # sharex hides them on all but the last
    # just above the first row's titles: at y=1.02 of a figure three arms tall it floated an
    # inch and a half above them
    above = 2.4 * cast(float, STYLE["axes.titlesize"]) / 72.0 / fig.get_figheight()
    fig.suptitle(f"Migration flows — {data.name}", y=fig.subplotpars.top + above, va="bottom")
    return fig


def fig_choices(data: RunData) -> Figure | None:
    """What the rigs chose, by region: left ahead of a ban, or, forced off, relocated, went
    underground, hibernated, were sold abroad or retired (decisions.csv, over the run)."""
    totals = {arm: choice_totals(data, arm) for arm in data.arms}
    if not any(len(t) for t in totals.values()):
        return None
    # one list of regions for every arm, as the report's figure (each arm had its own order)
    regions = choice_regions(totals)[::-1]
    rows = len(regions)
    # constrained layout keeps the suptitle, titles, labels and legend apart (with the
    # suptitle at y=1.02 it overdrew the title of a one-region figure, and a legend below
    # each panel the next panel's title); one x scale for every arm, so that bar lengths
    # compare across arms (each panel had its own: 645k and 574k decisions drew as long)
    fig, axes = subplots(len(data.arms), 1, figsize=(9.0, (0.35 * rows + 1.3)
                                                     * len(data.arms) + 0.8), squeeze=False,
                         sharex=True, layout="constrained")
    shown: dict[str, Any] = {}
    for r, arm in enumerate(data.arms):
        ax = axes[r, 0]
        tot = totals[arm].reindex(regions, fill_value=0.0) if len(totals[arm]) else totals[arm]
        ax.set_title(f"what the rigs chose{' — ' + data.arm_label(arm) if arm else ''}")
        if not len(tot):
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no rig decided", transform=ax.transAxes, ha="center",
                    va="center", color="0.35")
            continue
        left = tot.cumsum(axis=1) - tot  # each choice starts where the ones before it end
        for choice in tot.columns:
            shown[choice] = ax.barh(range(len(tot)), tot[choice], left=left[choice],
                                    color=CHOICE_COLOURS[choice], label=CHOICE_LABELS[choice])
        ax.set_yticks(range(len(tot)), [clip(data.label(n), 24) for n in tot.index])
        ax.tick_params(axis="x", labelbottom=True)  # sharex hides them on all but the last
        counts_axis(ax, "x")
    axes[-1, 0].set_xlabel("decisions over the run, in rigs (mean over runs): a rig that "
                           "waits decides again and counts again")
    order = [c for c in CHOICE_LABELS if c in shown]
    fig.legend([shown[c] for c in order], [CHOICE_LABELS[c] for c in order], loc="outside "
               "lower center", ncols=len(order))
    fig.suptitle(f"Decisions — {data.name}")
    return fig


def fig_earnings(data: RunData) -> Figure | None:
    """Who earned what: each region's revenue over the run (before pool fees) beside what its
    rigs paid for power and hosting (summary.csv, mean over runs); arms one above the other,
    the regions in one order and on one scale."""
    books = earnings(data)
    if books is None:
        return None
    regions = books.regions[::-1]  # the most revenue in the top row
    fig, axes = subplots(len(data.arms), 1, figsize=(9.0, (0.42 * len(regions) + 1.3)
                                                     * len(data.arms) + 0.8), squeeze=False,
                         sharex=True, layout="constrained")
    y = np.arange(len(regions))
    shown: list[Any] = []
    for r, arm in enumerate(data.arms):
        ax = axes[r, 0]
        tot = books.by_arm[arm][::-1]
        # the revenue under its costs, as the report's grouped bars (side by side) place them
        shown = [ax.barh(y + offset, tot[field] / books.scale, height=0.4,
                         color=EARNINGS_COLOURS[field], label=EARNINGS_LABELS[field])
                 for field, offset in (("revenue", -0.2), ("cost", 0.2))]
        ax.set_yticks(y, [clip(data.label(n), 24) for n in regions])
        ax.set_title(f"who earned what{' — ' + data.arm_label(arm) if arm else ''}")
        ax.tick_params(axis="x", labelbottom=True)  # sharex hides them on all but the last
    axes[-1, 0].set_xlabel(f"{books.unit} over the run (mean over runs)")
    fig.legend(shown, [str(b.get_label()) for b in shown], loc="outside lower center",
               ncols=2)
    fig.suptitle(f"Revenue and costs by region — {data.name}")
    return fig


def fig_facilities(data: RunData) -> Figure | None:
    """Each facility's capacity and use (MW) and its monthly books (USD)."""
    fac = data.tables["facilities"]
    names = list(dict.fromkeys(fac["facility"].tolist()))[:6]
    if not names:
        return None
    fig, axes = subplots(len(names), 2, figsize=(11.0, 3.4 * len(names)), squeeze=False)
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
            draw_band(ax_mw, bands(one, "used_mw"), 1.0, colour,
                      f"in use{' — ' + arm if arm else ''}", n)
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
            date_axis(ax)
            ax.legend(loc="upper left")
    fig.suptitle(f"Facility books — {data.name}", y=1.02)
    return fig


def fig_energy(data: RunData) -> Figure | None:
    """Energy used per day and cumulative CO₂ emissions."""
    per = energy_series(data)
    if not len(per):
        return None
    fig, axes = subplots(2, 1, figsize=(7.5, 6.0), sharex=True)
    escale, eunit = si_scale(float(per["energy_mwh"].max()) * 1e6, "Wh")
    cscale, cunit = si_scale(float(per["co2_cum_t"].max()), "t")  # t, kt, Mt: tonnes
    marks = markers(data)
    for i, arm in enumerate(data.arms):
        colour, n = ARM_COLOURS[i % len(ARM_COLOURS)], data.members(arm)
        part = per[per["arm"] == arm]
        draw_band(axes[0], bands(part, "energy_mwh"), escale / 1e6, colour, data.arm_label(arm), n)
        draw_band(axes[1], bands(part, "co2_cum_t"), cscale, colour, data.arm_label(arm), n)
    axes[0].set_ylabel(f"energy per day ({eunit})")
    axes[1].set_ylabel(f"CO₂ emitted, cumulative ({cunit})")
    pad = 6.0
    for k, ax in enumerate(axes):
        pad = draw_markers(ax, marks, data.span, labels=k == 0) or pad
        ax.set_ylim(bottom=0)
        date_axis(ax)
        ax.legend(loc="best")
    axes[0].set_title(f"Energy and CO₂ — {data.name}", pad=pad)
    return fig


FIGURE_FUNCS: dict[str, Callable[[RunData], Any]] = {
    "hashrate": fig_hashrate, "difficulty": fig_difficulty, "regions": fig_regions,
    "rigs": fig_rigs, "pools": fig_pools, "flows": fig_flows, "choices": fig_choices,
    "earnings": fig_earnings, "facilities": fig_facilities,
    "energy": fig_energy,
}


def render(data: RunData, name: str, fmt: str = "png") -> bytes | None:
    """One figure as PNG or SVG bytes (None when the run has nothing to show there)."""
    import io

    check_figure(name)
    matplotlib = require("matplotlib", "plot")

    with matplotlib.rc_context(cast(Any, STYLE)):
        fig = FIGURE_FUNCS[name](data)
        if fig is None:
            return None
        buf = io.BytesIO()
        meta = {"Date": None, "Creator": "hashsim"} if fmt == "svg" else {"Software": "hashsim"}
        fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()


def write_figures(data: RunData | Results | str | os.PathLike[str],
                  folder: str | os.PathLike[str], fmt: str = "png",
                  only: Sequence[str] | str = ()) -> list[Path]:
    """Write every figure (or those in `only`) as ``<name>.<fmt>`` into `folder`.

    `data` is a `sim.Results`, a results folder or a `RunData` (see :func:`run_data`).
    Every figure is drawn before the first file is written (an error leaves no half set), and
    each file is written under a temporary name and renamed into place. Figures with nothing
    to show (no facilities, no migration) are skipped. Returns the paths written. An unknown
    figure name in `only` is a ValueError that lists the figures, raised before any is drawn.
    """
    if fmt not in ("png", "svg"):
        raise HashsimError(f"unknown format {fmt!r} (png or svg)")
    names = [check_figure(n) for n in ([only] if isinstance(only, str) else only or FIGURES)]
    data = run_data(data)
    blobs = {name: render(data, name, fmt) for name in names}  # all drawn before any is written
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, blob in blobs.items():
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
