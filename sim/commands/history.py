"""`hashsim backtest` and `hashsim calibrate`: hold runs against what was observed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd

from sim.commands.common import check_output, default_output, echo_notes
from sim.commands.common import report_errors as _errors


@click.command()
@click.argument("scenario")
@click.option("-r", "--replicates", type=click.IntRange(min=1), default=5, show_default=True,
              help="Replicates; the table shows their median and 5–95 % range.")
@click.option("--seed", type=click.IntRange(min=0), help="Master seed [default: the "
              "scenario's, else drawn].")
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE",
              help="Override a scenario value (as for `run`).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the run and backtest.csv [default: results/<name>-backtest].")
@click.option("-f", "--force", is_flag=True,
              help="Replace an existing output directory (hashsim's own output only).")
@click.option("--strict", is_flag=True, help="Fail on secondary checks too, not only headline.")
@_errors
def backtest(scenario: str, replicates: int, seed: int | None, overrides: tuple[str, ...],
             output: Path | None, force: bool, strict: bool) -> None:
    """Run SCENARIO and compare it with its `observed:` figures.

    Prints simulated (median and 5–95 % of replicates) against observed for each check, with
    the acceptance band, and MAPE, NRMSE, hits/misses and the objective that `calibrate`
    minimises. Writes the run plus backtest.csv and backtest_scores.csv. Exit code 0 when
    every headline band holds (with --strict: every headline and secondary band), 1
    otherwise; info checks are context only.
    """
    import sim
    from sim.backtest import evaluate, objective, outside_run, scores
    from sim.results import run

    loaded = sim.load(scenario, overrides)
    echo_notes(scenario, overrides, loaded)
    target = output or default_output(loaded.name, "-backtest")
    check_output(target, force)
    if loaded.observed is None:
        from sim.errors import HashsimError

        raise HashsimError(f"{scenario}: no `observed:` section to hold the run against")
    outside_run(loaded)
    res = run(loaded, seed=seed, replicates=replicates, command=sys.argv)
    table = evaluate(loaded, res.tables)
    # what `hashsim calibrate` minimises, so that a fit's objective can be checked here
    score = {**scores(table, loaded, res.tables), "objective": objective(loaded, res.tables)}
    import pandas as pd

    # with the run's tables, in one atomic write: an interrupted backtest leaves no folder
    # without them
    res.write(target, force=force,
              extra={"backtest": table, "backtest_scores": pd.DataFrame([score])})
    rule = next(c.rule for c in loaded.coins if c.name == loaded.observed.coin)
    click.echo(format_table(table, rule))
    headline_held = int(score["headline_banded"] - score["headline_misses"])
    click.echo(f"\nheadline bands held: {headline_held} of {int(score['headline_banded'])}   "
               f"all bands: {int(score['hits'])} of {int(score['banded'])}   "
               f"MAPE {_fmt(score['mape_pct'], '.1f', ' %')}   "
               f"NRMSE {_fmt(score['nrmse'], '.3f')}   "
               f"objective {score['objective']:.4g}   "
               f"(seed {res.seed}, {replicates} replicate{'s' * (replicates != 1)})")
    click.echo(f"wrote {target}/backtest.csv", err=True)
    if score["headline_misses"] > 0 or (strict and score["misses"] > 0):
        sys.exit(1)


def _fmt(value: float, spec: str, unit: str = "") -> str:
    """A score, or a dash where there is none (no observed series, no numeric check)."""
    return f"{value:{spec}}{unit}" if value == value else "—"


def format_table(table: pd.DataFrame, rule: str) -> str:
    """The backtest table as text, each value in the unit of its row's `unit` column (hash
    rates in EH/s or TH/s, shares in %)."""
    scale, unit = (1e18, "EH/s") if rule == "bitcoin" else (1e12, "TH/s")

    def show(value: Any, row_unit: str) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return "—"
        if row_unit == "H/s":
            return f"{float(value) / scale:.1f}"
        if row_unit == "date":
            return str(value)
        if row_unit == "fraction":  # a share: shown in % (backtest.csv keeps the fraction)
            return f"{100 * float(value):.1f}"
        return f"{float(value):.2f}"

    head = f"{'check':<32} {'tier':<9} {'date':<23} {'unit':<6} {'observed':>10} " \
           f"{'band':>23} {'simulated':>10} {'5–95 %':>23}  ok"
    lines = [head, "-" * len(head)]
    for _, r in table.iterrows():
        u = r["unit"]
        shown_unit = {"H/s": unit, "date": "", "fraction": "%"}.get(u, u)
        band = f"{show(r['low'], u)} … {show(r['high'], u)}"
        spread = f"{show(r['simulated_p05'], u)} … {show(r['simulated_p95'], u)}"
        ok = {True: "yes", False: "NO"}.get(r["within_band"], "")
        missing = int(r.get("replicates_missing", 0) or 0)
        if missing:  # a recovery not reached, or a figure a replicate has no value for
            ok += (f"  ({missing} replicate{'s' * (missing != 1)} "
                   f"{'not reached' if u == 'date' else 'without a value'})")
        lines.append(f"{str(r['check'])[:32]:<32} {r['tier']:<9} {str(r['date'])[:23]:<23} "
                     f"{shown_unit:<6} "
                     f"{show(r['observed'], u):>10} {band:>23} {show(r['simulated'], u):>10} "
                     f"{spread:>23}  {ok}")
    return "\n".join(lines)


@click.command()
@click.argument("scenario")
@click.option("--param", "params", multiple=True, required=True, metavar="NAME=LOW:HIGH",
              help="A free parameter as a scenario path and its bounds, e.g. "
              "policies.ban.hazard_per_day=0.01:0.3 (repeatable).")
@click.option("-r", "--replicates", type=click.IntRange(min=1), default=2, show_default=True,
              help="Replicates per evaluation (common random numbers across evaluations).")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--max-evaluations", type=click.IntRange(min=2), default=60, show_default=True,
              help="Evaluations of the objective at most (a point already run is not run "
              "again, so there may be fewer runs).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the fit [default: results/<name>-calibration].")
@click.option("-f", "--force", is_flag=True,
              help="Replace an existing output directory (hashsim's own output only).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@_errors
def calibrate(scenario: str, params: tuple[str, ...], replicates: int, seed: int,
              max_evaluations: int, output: Path | None, force: bool, quiet: bool) -> None:
    """Fit free parameters of SCENARIO to its `observed:` figures.

    Minimises the backtest objective (squared distance of each check from the centre of its
    band, in half-widths, plus NRMSE² of the hashrate series) with bounded Nelder–Mead, every
    evaluation on the same seeds (a whole-number field in whole numbers). Writes fitted.csv,
    history.csv, calibrated.yaml (the scenario with the fitted values filled in, every other
    line as it was; `hashsim backtest` with the --seed and -r its header gives reproduces the
    objective) and calibration.json (what repeats the fit).
    """
    import shutil

    from tqdm import tqdm

    from sim.bundled import resolve
    from sim.calibrate import Param, format_value, write_calibrated
    from sim.calibrate import calibrate as fit

    path = resolve(scenario)
    parsed = [Param.parse(p) for p in params]
    import sim

    name = sim.load(path).name
    target = output or default_output(name, "-calibration")
    check_output(target, force)
    show = not quiet and sys.stderr.isatty()
    with tqdm(total=max_evaluations, unit="run", disable=not show, file=sys.stderr,
              leave=False) as bar:
        best = float("inf")

        def tick(n: int, value: float) -> None:
            nonlocal best
            best = min(best, value)  # the fit's progress: the last run's alone jumps about
            bar.set_postfix_str(f"best {best:.4g}, last {value:.4g}")
            bar.update(1)

        result = fit(path, parsed, seed=seed, replicates=replicates,
                     max_evaluations=max_evaluations, on_evaluation=tick)
    target.parent.mkdir(parents=True, exist_ok=True)
    from sim.results import staging_dir

    tmp = staging_dir(target)
    try:  # everything into a hidden folder, renamed into place: never half a fit
        result.table().to_csv(tmp / "fitted.csv", index=False)
        pd.DataFrame(result.history).rename_axis("evaluation").to_csv(tmp / "history.csv")
        runs = f"{replicates} replicate{'s' * (replicates != 1)}"
        write_calibrated(path, result.best, tmp / "calibrated.yaml", note=[
            f"objective {result.objective:.6g} (seed {seed}, {runs}); its backtest: hashsim "
            f"backtest calibrated.yaml --seed {seed} -r {replicates}"])
        _write_provenance(tmp / "calibration.json", path, parsed, result, seed, replicates,
                          max_evaluations)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for p in parsed:
        click.echo(f"  {p.path:<40} {format_value(result.best[p.path])}   [{p.low:g}, {p.high:g}]")
    click.echo(f"objective {result.start_objective:.4g} → {result.objective:.4g} in "
               f"{result.evaluations} runs ({result.message})")
    click.echo(f"wrote {target}/calibrated.yaml", err=True)


def _write_provenance(target: Path, source: Path, params: list[Any], result: Any, seed: int,
                      replicates: int, max_evaluations: int) -> None:
    """calibration.json: the scenario file (and its sha256), the bounds, seed, replicates and
    budget, the objectives, the command and the library versions — what repeats the fit."""
    import hashlib
    import json
    import shlex

    from sim.results import git_commit, versions

    words = ["hashsim", "calibrate", str(source),
             *(w for p in params for w in ("--param", f"{p.path}={p.low!r}:{p.high!r}")),
             "-r", str(replicates), "--seed", str(seed), "--max-evaluations",
             str(max_evaluations)]
    doc = {
        "scenario_file": str(source),
        "scenario_sha256": hashlib.sha256(Path(source).read_bytes()).hexdigest(),
        "parameters": [{"path": p.path, "low": p.low, "high": p.high,
                        "value": result.best[p.path]} for p in params],
        "seed": seed, "replicates": replicates, "max_evaluations": max_evaluations,
        "evaluations": result.evaluations, "start_objective": result.start_objective,
        "objective": result.objective, "message": result.message,
        "repeat": shlex.join(words), "command": sys.argv, "versions": versions(),
        "git_commit": git_commit(),
    }
    target.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
