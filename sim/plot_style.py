"""How hashsim's figures look: matplotlib style, colours, date and count axes, policy markers.

Shared by the matplotlib figures (`sim.plots`) and, for colours, labels and marker clustering,
the interactive report (`sim.report`). matplotlib is an optional extra imported inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd

from sim.plot_series import Marker, key_order
from sim.rundata import MissingExtraError, RunData

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import PathCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.path import Path
    from matplotlib.text import Annotation
    from matplotlib.transforms import Bbox

STATUSES = ("online", "offline", "banned_off", "in_transit", "queued", "underground", "retired")
STATUS_LABELS = {"online": "online", "offline": "offline (unprofitable)",
                 "banned_off": "banned, off", "in_transit": "in transit", "queued": "queued",
                 "underground": "underground", "retired": "retired"}
STATUS_COLOURS = {"online": "#2a9d55", "offline": "#a6c8a0", "banned_off": "#d62728",
                  "in_transit": "#ff9f1c", "queued": "#f4d35e", "underground": "#6a4c93",
                  "retired": "#7f7f7f"}
#: What rigs chose (decisions.csv), in the statuses' colours where one leads to a status.
CHOICE_LABELS = {"leave_early": "left early", "relocate": "relocated", "sell": "sold abroad",
                 "underground": "went underground", "hibernate": "hibernated",
                 "retire": "retired"}
CHOICE_COLOURS = {"leave_early": "#ffbf69", "relocate": "#ff9f1c", "sell": "#2ec4b6",
                  "underground": "#6a4c93", "hibernate": "#d62728", "retire": "#7f7f7f"}
#: The bars of the earnings figures (summary.csv's revenue.<region> and cost.<region>).
EARNINGS_LABELS = {"revenue": "revenue (before pool fees)", "cost": "power and hosting costs"}
EARNINGS_COLOURS = {"revenue": "#4d9221", "cost": "#c51b7d"}
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


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None,
             layout: Literal["constrained"] | None = None, **kwargs: Any
             ) -> tuple[Figure, Any]:
    """A figure and its axes (``Figure.subplots``), on a canvas of its own, for files only.
    Not through pyplot: switching pyplot to Agg changed the backend of the user's own plots
    (a notebook's inline figures stopped showing), and a notebook shows every pyplot figure
    made in a cell. ``layout`` is the figure's layout engine (``"constrained"``)."""
    require("matplotlib", "plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def counts_axis(ax: Axes, axis: str = "y") -> None:
    """Whole counts on an axis: with thousands separators on a y axis (28,000 rather than
    28000); on an x axis at most six compact labels (12k, 1.5M), since labels side by side
    ran together ("12,00018,000") once a count reached five digits."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    if axis == "y":
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        return
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: compact_count(v)))


def compact_count(value: float) -> str:
    """A count in at most three significant digits and an SI prefix: 950, 12k, 2.5M."""
    scale, prefix = si_scale(value, "")
    return f"{value / scale:.3g}{prefix}"


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
                    width: int = 34, gap_days: float = 0.0) -> list[tuple[Marker, str]]:
    """Markers inside `span`, grouped when closer than 1/45 of it (or than `gap_days`, where
    that is more): (first marker, label of at most `width` characters)."""
    inside = [m for m in marks if span[0] <= m.date <= span[1]]
    gap = max((span[1] - span[0]).days / 45.0, 1.0, gap_days)
    clusters: list[list[Marker]] = []
    for m in inside:
        if clusters and (m.date - clusters[-1][0].date).days <= gap:
            clusters[-1].append(m)
        else:
            clusters.append([m])
    return [(group[0], clip("; ".join(m.label for m in group), width)) for group in clusters]


#: The least distance (points) between two event labels' dates on a time axis: at 50° a
#: label of 6.5 points is this far from its neighbour's across.
LABEL_SPACING_PT = 9.0


def draw_markers(ax: Axes, marks: Sequence[Marker],
                 span: tuple[pd.Timestamp, pd.Timestamp], labels: bool = True) -> float:
    """Policy events as dotted vertical lines; nearby dates share one label above the axes.

    Returns the height the labels take above the axes (points), for the title's padding.
    """
    import matplotlib.dates as mdates

    for m in marks:
        if span[0] <= m.date <= span[1]:
            ax.axvline(float(mdates.date2num(m.date)), color="0.35", lw=0.7, ls=":", zorder=1)
    # labels closer than LABEL_SPACING_PT on the page share one: 1/45 of the run is that much
    # on a figure's full width, but in an arm's narrower panel (rigs by status, side by side)
    # the labels of nearby dates overdrew each other
    figure = cast(Any, ax.figure)
    width_pt = ax.get_position().width * figure.get_figwidth() * 72.0
    gap = (span[1] - span[0]).days * LABEL_SPACING_PT / max(width_pt, 1.0)
    clusters = cluster_markers(marks, span, gap_days=gap) if labels else []
    for first, text in clusters:
        ax.text(float(mdates.date2num(first.date)), 1.01, text, rotation=50,
                rotation_mode="anchor", va="bottom", ha="left", fontsize=6.5, color="0.25",
                transform=ax.get_xaxis_transform(), clip_on=False)
    if not clusters:
        return 0.0
    longest = max(len(text) for _, text in clusters)
    return 6.5 * 0.56 * longest * float(np.sin(np.radians(50))) + 12.0


#: Gap between a point and its label (points), across and up or down.
LABEL_GAP_PT = 3.0
#: Where a label may go beside its point, in order of preference: horizontal alignment
#: ("left": the label starts right of the point), whether on the side away from what leads up
#: to the point (above a rise, below a fall), and the vertical offset in points. A label
#: lifted further than the gap, clear of its neighbours, is centred on its point and joined to
#: it by a stem; none goes left of its point on the near side, where it would read as the
#: label of what came before.
LABEL_PLACES = (("left", True, LABEL_GAP_PT), ("left", False, LABEL_GAP_PT),
                ("center", True, LABEL_GAP_PT), ("right", True, LABEL_GAP_PT),
                ("center", True, 11.0), ("center", False, 11.0))


def label_points(ax: Axes, points: PathCollection, labels: Sequence[tuple[int, str, bool]],
                 avoid: Sequence[Line2D], fontsize: float = 6.5) -> list[Annotation]:
    """Label some of a scatter's `points`, each beside its own point, clear of everything else.

    `labels` holds (point index, text, away) in order of priority; `away` is True where the
    side away from what leads up to the point is above it (a rise). A label goes to the first
    of :data:`LABEL_PLACES` where it fits: inside the axes and clear of every point, of the
    `avoid` lines and of the labels placed before it. A label that fits nowhere is left out,
    so where labels crowd the first ones stay. Labels have a light ground, so that a line
    not avoided (a policy marker) passes behind them.

    The check is in display space, so the axes' limits are fixed first, with room for a label
    above the highest point and below the lowest. Returns the labels placed.
    """
    figure = cast(Any, ax.figure)
    renderer, px_per_pt = figure.canvas.get_renderer(), figure.dpi / 72.0
    room_pt = LABEL_GAP_PT + 1.4 * fontsize
    ax.set_xlim(ax.get_xlim())
    low, high = ax.get_ylim()
    height_pt = ax.bbox.height / px_per_pt
    room = (high - low) * room_pt / max(height_pt - 2 * room_pt, room_pt)
    ax.set_ylim(low - room, high + room)
    offsets = np.asarray(points.get_offsets(), dtype=float)
    centres = points.get_offset_transform().transform(offsets)
    radii_pt = np.broadcast_to(np.sqrt(points.get_sizes()) / 2.0, len(offsets))
    lines = [line.get_transform().transform_path(line.get_path()) for line in avoid]
    placed: list[Annotation] = []
    taken: list[Bbox] = []
    for idx, text, away in labels:
        if not np.isfinite(offsets[idx]).all():
            continue
        for ha, near_side, dy in LABEL_PLACES:
            up = away if near_side else not away
            where: dict[str, Any] = {
                "xy": tuple(offsets[idx]), "textcoords": "offset points",
                "xytext": ({"left": LABEL_GAP_PT, "center": 0.0, "right": -LABEL_GAP_PT}[ha],
                           dy if up else -dy),
                "ha": ha, "va": "bottom" if up else "top", "fontsize": fontsize,
                "bbox": {"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                         "alpha": 0.8}}
            boxes = _label_boxes(ax, renderer, text, where, centres[idx],
                                 (radii_pt[idx] + 1.0) * px_per_pt if dy > LABEL_GAP_PT
                                 else None)
            if all(_fits(box, ax.bbox, taken, centres, radii_pt * px_per_pt, lines)
                   for box in boxes):
                placed.append(ax.annotate(text, **where, arrowprops={
                    "arrowstyle": "-", "color": "0.4", "lw": 0.5, "shrinkA": 0.0,
                    "shrinkB": radii_pt[idx] + 1.0} if len(boxes) > 1 else None))
                taken += boxes
                break
    return placed


def _label_boxes(ax: Axes, renderer: Any, text: str, where: dict[str, Any],
                 centre: np.ndarray, stem_from_px: float | None) -> list[Bbox]:
    """The display boxes a label takes (padded by a point): its text and, where it has a stem
    (from `stem_from_px` off its point), the stem's column. The text is measured alone: an
    annotation's extent would take in its stem."""
    from matplotlib.transforms import Bbox

    label = ax.annotate(text, **where)
    pad = renderer.points_to_pixels(1.0)
    box = label.get_window_extent(renderer).padded(pad)
    label.remove()
    if stem_from_px is None:
        return [box]
    up = where["va"] == "bottom"
    ends = sorted((centre[1] + (stem_from_px if up else -stem_from_px),
                   box.y0 if up else box.y1))
    return [box, Bbox([[centre[0] - pad, ends[0]], [centre[0] + pad, ends[1]]])]


def _fits(box: Bbox, frame: Bbox, taken: Sequence[Bbox], centres: np.ndarray,
          radii: np.ndarray, lines: Sequence[Path]) -> bool:
    inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and \
        box.y1 <= frame.y1
    near = ((centres[:, 0] > box.x0 - radii) & (centres[:, 0] < box.x1 + radii)
            & (centres[:, 1] > box.y0 - radii) & (centres[:, 1] < box.y1 + radii))
    return inside and not near.any() and not any(box.overlaps(t) for t in taken) and \
        not any(line.intersects_bbox(box, filled=False) for line in lines)


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


def arm_grid(rows: int, arms: Sequence[str], height: float) -> tuple[Figure, Any]:
    width = 7.5 if len(arms) == 1 else min(4.2 * len(arms), 16.0)
    return subplots(rows, len(arms), figsize=(width, height * rows), squeeze=False,
                        sharey="row")
