"""`hashsim plot`, `hashsim report` and `hashsim demo`: pictures, a page and a classroom run."""

from __future__ import annotations

from pathlib import Path

import click

from sim.commands.common import FiniteFloat, check_target
from sim.commands.common import report_errors as _errors
from sim.errors import ResultsExistError
from sim.plots import FIGURES  # (matplotlib is imported only when a figure is drawn)


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the figures [default: RESULTS/figures].")
@click.option("--format", "fmt", type=click.Choice(["png", "svg"]), default="png",
              show_default=True, help="File format (SVG files are byte-for-byte reproducible).")
@click.option("--only", multiple=True, metavar="FIGURE",
              type=click.Choice(FIGURES),
              help="Draw only this figure (repeatable) [default: all].")
@_errors
def plot(results: Path, output: Path | None, fmt: str, only: tuple[str, ...]) -> None:
    """Draw the figures of a results or experiment directory RESULTS.

    \b
    hashrate    network hashrate (observed overlaid when the scenario has `observed:`)
    difficulty  difficulty and block time, retargets marked
    regions     stacked regional shares of the hashrate
    rigs        rigs by status (online, banned, in transit, queued, underground, retired)
    pools       pool shares
    flows       migration origin → destination, arrivals by destination
    choices     what the rigs chose, by region (left early, relocated, underground,
                hibernated, sold abroad, retired)
    earnings    who earned what: each region's revenue beside its power and hosting costs
    facilities  each facility's capacity, use and monthly books
    energy      energy per day and cumulative CO₂

    Replicates show as a median with a 5–95 % band; an experiment's arms side by side or
    overlaid; policy events are dotted lines on the time axis. Figures with nothing to show
    (no facilities, no migration, no decisions) are skipped.
    """
    from sim.plots import load_run, write_figures
    from sim.rundata import missing_note

    data = load_run(results)
    folder = output or results / "figures"
    check_target(folder, "figure folder")
    if data.missing:
        click.echo(f"note: {missing_note(data)}", err=True)
    written = write_figures(data, folder, fmt, only)
    for path in written:
        click.echo(str(path))
    click.echo(f"wrote {len(written)} figure{'s' * (len(written) != 1)} to {folder}/", err=True)


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The page to write [default: RESULTS/report.html, replaced if there].")
@click.option("-f", "--force", is_flag=True, help="Replace the -o file if it exists.")
@_errors
def report(results: Path, output: Path | None, force: bool) -> None:
    """Write one self-contained, offline report.html for RESULTS (a run or an experiment).

    Interactive figures (hover, zoom, click a legend entry to hide a series), the migration
    as a Sankey diagram, the event timeline with the source articles' events, the summary
    table, the scenario as run and its provenance; for an experiment, arms side by side and
    the sensitivity indices. The page needs no network: plotly.js is inside it.
    """
    from sim.plots import load_run
    from sim.report import write_report
    from sim.rundata import missing_note

    data = load_run(results)
    if output is not None:
        check_target(output, "report")
        if output.is_symlink() or (output.exists() and not output.is_file()):
            raise ResultsExistError(f"{output} is not a plain file; the report is not written "
                                    "over it")
        if output.exists() and not force:
            raise ResultsExistError(f"{output} exists; use --force to replace it")
    if data.missing:
        click.echo(f"note: {missing_note(data)}", err=True)
    path = write_report(data, output)
    click.echo(str(path))
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB; open it in a browser)",
               err=True)


@click.command()
@click.argument("scenario", required=False, default="tutorial")
@click.option("--pace", type=FiniteFloat(min=0.0), default=0.5, show_default=True,
              help="Seconds of pause per simulated week and after each event (0: no pauses).")
@click.option("--seed", type=click.IntRange(min=0), help="Master seed [default: the "
              "scenario's].")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Results directory [default: results/demo-<scenario>].")
@click.option("-f", "--force", is_flag=True, help="Replace an output directory that is not a "
              "previous demo's.")
@click.option("--no-report", is_flag=True, help="Write the results but no report.html.")
@_errors
def demo(scenario: str, pace: float, seed: int | None, output: Path | None, force: bool,
         no_report: bool) -> None:
    """Run SCENARIO and narrate it: a classroom demonstration.

    SCENARIO is china-2021, iran-2021, sparkpool-2021, tutorial (the default) or any scenario
    file. The terminal tells the story as the simulation goes — dated events, the hashrate
    falling and the difficulty answering, where the rigs go — then the results and a
    report.html are written and named. Use --pace 2 for a slow live class, --pace 0 in scripts.
    """
    import sys

    from sim.demo import run_demo

    run_demo(scenario, pace=pace, seed=seed, output=output, force=force,
             report=not no_report, command=list(sys.argv))
