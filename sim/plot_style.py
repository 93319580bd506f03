"""How hashsim's figures look: matplotlib style, colours, date and count axes, policy markers.

Shared by the matplotlib figures (`sim.plots`) and, for colours, labels and marker clustering,
the interactive report (`sim.report`). matplotlib is an optional extra imported inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.plot_series import Marker, key_order
from sim.rundata import MissingExtraError, RunData

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STATUSES = ("online", "offline", "banned_off", "in_transit", "queued", "underground", "retired")
STATUS_LABELS = {"online": "online", "offline": "offline (unprofitable)",
                 "banned_off": "banned, off", "in_transit": "in transit", "queued": "queued",
                 "underground": "underground", "retired": "retired"}
STATUS_COLOURS = {"online": "#2a9d55", "offline": "#a6c8a0", "banned_off": "#d62728",
                  "in_transit": "#ff9f1c", "queued": "#f4d35e", "underground": "#6a4c93",
                  "retired": "#7f7f7f"}
#: rcParams of every figure; a fixed hashsalt and glyphs as paths keep SVG files byte-identical.
STYLE = {
    "svg.hashsalt": "hashsim", "svg.fonttype": "path", "font.size": 9, "axes.titlesize": 10,
    "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "grid.linewidth": 0.5, "legend.frameon": False,
    "figure.dpi": 100, "savefig.dpi": 200, "savefig.bbox": "tight", "path.simplify": False,
}
ARM_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
               "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")


def require(module: str, extra: str) -> Any:
    """Import an optional library or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"this needs {module.split('.')[0]}: "
                                f"pip install 'hashsim[{extra}]'") from None


def si_scale(top: float, unit: str) -> tuple[float, str]:
    """A readable multiple for large values: (1e9, 'G' + unit) etc."""
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(top) >= scale:
            return scale, f"{prefix}{unit}"
    return 1.0, unit


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files only, no window)."""
    mpl = require("matplotlib", "plot")
    mpl.use("Agg", force=True)
    return require("matplotlib.pyplot", "plot")


def counts_axis(ax: Axes, axis: str = "y") -> None:
    """Thousands separators on a count axis (28,000 rather than 28000)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(integer=True))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def clip(text: str, width: int = 30) -> str:
    """Shorten a long label for an axis or a legend."""
    return text if len(text) <= width else text[: width - 1] + "…"


def date_axis(ax: Axes) -> None:
    """Dates on the x axis; whole days at most (the data are daily: a run of a few days gets
    day ticks, not 03:00, 06:00, …). Call it after the data are drawn."""
    import matplotlib.dates as mdates

    low, high = ax.get_xlim()
    days = high - low  # matplotlib's date numbers count days
    if days < 12:
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, int(np.ceil(days / 6)))))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
        return
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    # the offset names the year only: with day ticks matplotlib's default ('%Y-%b') names the
    # last tick's month ("2021-Nov" under a September–October run)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
        locator, offset_formats=["", "%Y", "%Y", "%Y", "%Y-%b-%d", "%Y-%b-%d %H:%M"]))


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


def draw_markers(ax: Axes, marks: Sequence[Marker],
                 span: tuple[pd.Timestamp, pd.Timestamp], labels: bool = True) -> float:
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


def draw_band(ax: Axes, b: pd.DataFrame, scale: float, colour: str, label: str,
              members: int) -> None:
    ax.plot(b["date"], b["mid"] / scale, color=colour, lw=1.4,
            label=label + (" (median)" if members > 1 else ""))
    if members > 1:
        ax.fill_between(b["date"], b["lo"] / scale, b["hi"] / scale, color=colour, alpha=0.2,
                        lw=0, label=f"5–95 % of {members} runs")


#: The colours of matplotlib's tab10 (and the report's palette), in order, by name.
TAB10_NAMES = ("blue", "orange", "green", "red", "purple", "brown", "pink", "grey", "olive",
               "cyan")
#: Categorical colours of every figure and of the report: tab10, then its light variants
#: (tab20's colours, the saturated ten first), so that up to 20 keys all differ.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
           "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")


def palette_slots(keys: Sequence[str]) -> list[int]:
    """A :data:`PALETTE` slot for each key: a key that names a colour (blue_country, red-pool)
    gets that colour, so a class never sees Green Country drawn in red; the others take the
    unused slots in order: the saturated ten while there are at most ten keys, else all 20
    (past 20, the slots repeat)."""
    size = len(TAB10_NAMES) if len(keys) <= len(TAB10_NAMES) else len(PALETTE)
    wanted: dict[int, int] = {}
    for i, key in enumerate(keys):
        words = key.lower().replace("-", "_").replace("gray", "grey").split("_")
        slot = next((TAB10_NAMES.index(w) for w in words if w in TAB10_NAMES), None)
        if slot is not None and slot not in wanted.values():
            wanted[i] = slot
    free = iter([k for k in range(size) if k not in wanted.values()] + list(range(len(keys))))
    return [wanted[i] if i in wanted else next(free) % size for i in range(len(keys))]


def named_colours(keys: Sequence[str]) -> dict[str, str]:
    """Colours (hex) for `keys`: see :func:`palette_slots`."""
    return {k: PALETTE[slot] for k, slot in zip(keys, palette_slots(keys), strict=True)}


def region_colours(data: RunData) -> dict[str, str]:
    """One colour per region for every figure of a run (shares, flows, the Sankey, arrivals,
    every coin and arm alike): leaf regions by their first-day share, then any other region
    a flow names."""
    leaves = data.leaf_regions()
    keys = [str(k) for k in key_order(leaves, "share", "region")] if len(leaves) else []
    flows = data.tables["flows"]
    for col in ("origin", "destination"):
        if col in flows.columns:
            keys += sorted(set(flows[col].astype(str)) - set(keys) - {""})
    return named_colours(keys)


def arm_grid(plt: Any, rows: int, arms: Sequence[str], height: float) -> tuple[Figure, Any]:
    width = 7.5 if len(arms) == 1 else min(4.2 * len(arms), 16.0)
    return plt.subplots(rows, len(arms), figsize=(width, height * rows), squeeze=False,
                        sharey="row")
