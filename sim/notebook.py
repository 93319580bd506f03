"""Jupyter display of results: a summary table and the hashrate figure, inline.

``results_html(results)`` is what ``Results._repr_html_`` shows. The figure is a PNG embedded
as a data URI, so the notebook stays self-contained; without matplotlib the table comes alone.
``show(results, "regions")`` displays any figure of `sim.plots` in a notebook.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from sim.plots import FIGURES, MissingExtraError, RunData, render
from sim.report import esc, summary_table_html

if TYPE_CHECKING:
    from sim.results import Results


def _data(results: Results | RunData) -> RunData:
    return results if isinstance(results, RunData) else RunData.from_results(results)


def figure_png(results: Results | RunData, name: str = "hashrate") -> bytes | None:
    """One figure as PNG bytes (None if it has nothing to show or matplotlib is missing)."""
    try:
        return render(_data(results), name, "png")
    except MissingExtraError:
        return None


def results_html(results: Results | RunData) -> str:
    """HTML for a notebook cell: heading, summary table and the hashrate figure."""
    data = _data(results)
    seed = data.meta.get("seed", "")
    runs = data.members(data.arms[0])
    head = (f"<h3>hashsim results: {esc(data.name)}</h3><p>{esc(data.span[0].date())} … "
            f"{esc(data.span[1].date())}, seed {esc(seed)}, {runs} run{'s' * (runs != 1)}</p>")
    png = figure_png(data, "hashrate")
    img = (f"<img alt='network hashrate' style='max-width:100%' "
           f"src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>"
           if png else "<p><i>Install matplotlib (hashsim[plot]) to see the figures.</i></p>")
    return f"<div class='hashsim'>{head}{img}{summary_table_html(data)}</div>"


def show(results: Results | RunData, name: str = "hashrate") -> Any:
    """Display one figure in a notebook (an IPython Image), or return None outside one."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; one of {', '.join(FIGURES)}")
    png = figure_png(results, name)
    try:
        from IPython.display import Image
    except ImportError:
        return None
    return Image(data=png) if png else None
