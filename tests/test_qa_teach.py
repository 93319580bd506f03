"""QA pass (a teacher comparing Iran's temporary ban with China's permanent one, from the docs).

Each test names the defect it keeps fixed. The experiment is `iran-2021-arms` cut at the end of
July (ban, no-ban, no-announced-end; the no-ban arm decides nothing), swept once per module.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import pytest
from click.testing import CliRunner

import sim
from sim.plots import RunData, fig_choices, fig_rigs, load_run

matplotlib = pytest.importorskip("matplotlib")
pytest.importorskip("plotly")

SHORT = ["end=2021-07-31"]


@pytest.fixture(scope="module")
def arms(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    from sim.experiments import prepare, run_sweep

    target = tmp_path_factory.mktemp("iran") / "arms"
    run_sweep(prepare("iran-2021-arms", SHORT), target, jobs=1)
    return load_run(target)


@pytest.fixture(scope="module")
def single() -> RunData:
    return RunData.from_results(sim.run(sim.load("iran-2021", SHORT), seed=1))


pytestmark = pytest.mark.usefixtures("plot_style")  # house style, figures closed (conftest)


def texts(fig: Any) -> list[Any]:
    """The figure's titles, axis labels and legends, laid out as they are saved."""
    fig.canvas.draw()
    out = [fig._suptitle] if fig._suptitle is not None else []
    for ax in fig.axes:
        out += [t for t in (ax.title, ax.xaxis.label) if t.get_text()]
        if ax.get_legend() is not None:
            out.append(ax.get_legend())
    out += fig.legends
    return out


def assert_apart(fig: Any) -> None:
    renderer = fig.canvas.get_renderer()
    boxes = [(getattr(t, "get_text", lambda: "legend")(), t.get_window_extent(renderer))
             for t in texts(fig)]
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"


def test_choices_figure_of_one_run_keeps_its_title_off_the_panel_title(single: RunData) -> None:
    """The suptitle at y=1.02 of a one-region figure (iran-2021) overdrew 'what the rigs
    chose'."""
    assert_apart(fig_choices(single))


def test_choices_figure_of_arms_shares_one_scale_and_keeps_legends_off_titles(
        arms: RunData) -> None:
    """Each arm had its own x scale (645k and 574k decisions drew as long), and the legend
    under each panel overdrew the next panel's title."""
    fig = fig_choices(arms)
    drawn = [ax for ax in fig.axes if ax.axison]
    assert len(drawn) == 2  # no-ban decided nothing: its panel says so
    assert drawn[0].get_xlim() == drawn[1].get_xlim()
    assert all(ax.get_xticklabels()[0].get_visible() for ax in drawn)
    assert_apart(fig)


def test_flows_figure_of_arms_shares_one_scale_per_column(arms: RunData) -> None:
    """The migration bars had one x scale per arm (80k and 90k rigs drew as long)."""
    from sim.plots import fig_flows

    fig = fig_flows(arms)
    bars = [ax for ax in fig.axes[::2] if ax.axison]  # the arms that moved rigs
    assert len(bars) == 2
    assert bars[0].get_xlim() == bars[1].get_xlim()
    assert all(label.get_visible() for label in bars[0].get_xticklabels())


def test_rigs_figure_of_arms_has_titles_at_one_height_that_do_not_run_together(
        arms: RunData) -> None:
    """An arm without events (no-ban) had its title lower than the others', and each title
    repeated the experiment's name and ran over the next panel's."""
    fig = fig_rigs(arms)
    assert_apart(fig)
    renderer = fig.canvas.get_renderer()
    heights = {round(ax.title.get_window_extent(renderer).y0, 1) for ax in fig.axes}
    assert len(heights) == 1
    assert fig._suptitle is not None and "iran-2021-arms" in fig._suptitle.get_text()


def test_report_choices_share_one_scale_and_say_an_arm_decided_nothing(arms: RunData) -> None:
    """The report's bars had one x scale per arm, and the no-ban panel was blank."""
    from sim.report import pfig_choices

    fig = pfig_choices(arms)
    axes = [fig.layout[k] for k in fig.layout if k.startswith("xaxis")]
    assert len(axes) == 3 and all(ax.matches == "x" for ax in axes)
    assert sum(bool(ax.title.text) for ax in axes) == 1  # the long title once
    assert [a.text for a in fig.layout.annotations if a.text == "no rig decided"]


def test_report_names_the_decision_totals_and_captions_the_section(single: RunData) -> None:
    """The summary table showed 'decided.leave early', 'decided.hibernate' (raw metric names
    among plain words), and the section had no caption saying its bars count decisions."""
    from sim.report import CAPTIONS, metric_name, summary_rows

    names = [r["name"] for r in summary_rows(single) if r["metric"].startswith("decided.")]
    assert len(names) == 6 and not [n for n in names if "decided" in n]
    assert metric_name(single, "decided.hibernate").startswith("decisions over the run: "
                                                                "hibernated")
    assert "decisions, not rigs" in CAPTIONS["choices"]


def test_summarize_prints_what_the_rigs_chose(arms: RunData) -> None:
    """README: sweep iran-2021-arms then summarize, to see 'how many rigs wait at home';
    the printout held no decision at all."""
    from cli import main

    assert arms.source is not None
    result = CliRunner().invoke(main, ["summarize", str(arms.source)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    block = [b.strip() for b in result.stdout.split("\n\n")]
    ban = next(b for b in block if b.startswith("ban · bitcoin"))
    assert "decided.hibernate" in ban and "decided.leave_early" not in ban  # none left early
    assert "decided.hibernate" in next(b for b in block if b.startswith("no-announced-end − ban"))


def test_run_help_names_decisions_csv() -> None:
    """`run --help` listed every result file but decisions.csv."""
    from cli import main

    result = CliRunner().invoke(main, ["run", "--help"])
    assert "decisions.csv" in result.stdout


def test_summarize_writes_thousands_out() -> None:
    """summarize printed counts of rigs as 3.575e+05."""
    from sim.commands.experiments import _g

    assert _g(357506.4) == "357,506" and _g(28295084.0) == "28,295,084"
    assert _g(2.8312) == "2.831" and _g(1.82e20) == "1.82e+20" and _g(float("nan")) == "nan"
