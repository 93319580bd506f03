"""Jupyter display of results: a summary table and the hashrate figure, inline.

``results_html(results)`` is what ``Results._repr_html_`` shows. The figure is a PNG embedded
as a data URI, so the notebook stays self-contained; without matplotlib the table comes alone.
``show(results, "regions")`` displays any figure of `sim.plots` in a notebook. Each takes a
`sim.Results`, a results folder (a path) or a `RunData` (see `sim.plots.run_data`).
"""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING, Any

from sim.plots import MissingExtraError, RunData, check_figure, render, run_data
from sim.report import esc, summary_table_html

if TYPE_CHECKING:
    from sim.results import Results


def figure_png(results: Results | RunData | str | os.PathLike[str], name: str = "hashrate"
               ) -> bytes | None:
    """One figure as PNG bytes (None if it has nothing to show or matplotlib is missing)."""
    check_figure(name)
    try:
        return render(run_data(results), name, "png")
    except MissingExtraError:
        return None


def results_html(results: Results | RunData | str | os.PathLike[str]) -> str:
    """HTML for a notebook cell: heading, summary table and the hashrate figure."""
    data = run_data(results)
    seed = data.meta.get("seed", "")
    runs = data.members(data.arms[0])
    head = (f"<h3>hashsim results: {esc(data.name)}</h3><p>{esc(data.span[0].date())} … "
            f"{esc(data.span[1].date())}, seed {esc(seed)}, {runs} run{'s' * (runs != 1)}</p>")
    png = figure_png(data, "hashrate")
    img = (f"<img alt='network hashrate' style='max-width:100%' "
           f"src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>"
           if png else "<p><i>Install matplotlib (hashsim[plot]) to see the figures.</i></p>")
    return f"<div class='hashsim'>{head}{img}{summary_table_html(data)}</div>"


def show(results: Results | RunData | str | os.PathLike[str], name: str = "hashrate") -> Any:
    """One figure of `sim.plots` (`name`, one of ``sim.plots.FIGURES``) as an IPython Image.

    A notebook displays it when it is a cell's last expression (in a loop, wrap it in
    ``IPython.display.display``). Returns None outside IPython, without matplotlib, or when
    the figure has nothing to show (no facility, no migration). An unknown `name` is a
    ValueError that lists the figures; `results` that are not a `sim.Results`, a results
    folder or a `RunData` a TypeError.
    """
    check_figure(name)
    png = figure_png(results, name)
    try:
        from IPython.display import Image
    except ImportError:
        return None
    return Image(data=png) if png else None
