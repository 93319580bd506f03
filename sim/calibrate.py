"""Calibration: fit free scenario parameters to the observed figures.

Parameters are scenario paths as `--set` understands them (``policies.ban.hazard_per_day``).
Every evaluation runs the scenario with the same seed and replicates — common random numbers —
so the objective (sim.backtest.objective) is a deterministic function of the parameters and a
simplex method can work on it. Parameters are searched on [0, 1] scaled to their bounds with
bounded Nelder–Mead (scipy.optimize.minimize).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from sim.backtest import objective, outside_run
from sim.errors import HashsimError, Issue, ScenarioError
from sim.results import run
from sim.scenario import Scenario
from sim.validation import load
from sim.validation.common import show


@dataclass(frozen=True)
class Param:
    path: str
    low: float
    high: float
    text: str = field(default="", compare=False)  # NAME=LOW:HIGH as given, for messages

    @classmethod
    def parse(cls, text: str) -> Param:
        """``NAME=LOW:HIGH`` → Param."""
        name, sep, rng = text.partition("=")
        low_text, sep2, high_text = rng.partition(":")
        try:
            if not (sep and sep2 and name.strip()):
                raise ValueError
            low, high = float(low_text), float(high_text)
        except ValueError:
            raise HashsimError(f"--param {text!r}: expected NAME=LOW:HIGH, e.g. "
                               "policies.ban.hazard_per_day=0.01:0.3") from None
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise HashsimError(f"--param {text!r}: need finite LOW < HIGH")
        return cls(name.strip(), low, high, text.strip())

    @property
    def option(self) -> str:
        """The option as the user gave it (``--param NAME=LOW:HIGH``)."""
        return f"--param {self.text or f'{self.path}={self.low:g}:{self.high:g}'}"

    def value(self, unit: float) -> float:
        return self.low + float(np.clip(unit, 0.0, 1.0)) * (self.high - self.low)

    def override(self, unit: float) -> str:
        return f"{self.path}={self.value(unit)!r}"


@dataclass
class Calibration:
    params: list[Param]
    best: dict[str, float]
    objective: float
    start_objective: float
    evaluations: int
    history: list[dict[str, float]] = field(default_factory=list)
    message: str = ""

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"parameter": [p.path for p in self.params],
                             "value": [self.best[p.path] for p in self.params],
                             "low": [p.low for p in self.params],
                             "high": [p.high for p in self.params]})


def calibrate(path: str | os.PathLike[str], params: Sequence[Param], seed: int,
              replicates: int = 1, max_evaluations: int = 60,
              on_evaluation: Callable[[int, float], None] | None = None) -> Calibration:
    """Minimise the backtest objective of the scenario at `path` over `params`."""
    if not params:
        raise HashsimError("give at least one --param NAME=LOW:HIGH")
    seen = [p.path for p in params]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        raise HashsimError(f"--param given more than once for {', '.join(twice)}")
    base = load(path)
    if base.observed is None:
        raise HashsimError(f"{path}: the scenario has no `observed:` section to fit to")
    outside_run(base)
    check_bounds(path, base, params)
    history: list[dict[str, float]] = []

    def evaluate(x: np.ndarray) -> float:
        scenario = load(path, [p.override(u) for p, u in zip(params, x, strict=True)])
        value = _objective(scenario, seed, replicates)
        history.append({**{p.path: p.value(u) for p, u in zip(params, x, strict=True)},
                        "objective": value})
        if on_evaluation:
            on_evaluation(len(history), value)
        return value

    x0 = np.array([_start(base, path, p) for p in params])
    result = optimize.minimize(evaluate, x0, method="Nelder-Mead",
                               bounds=[(0.0, 1.0)] * len(params),
                               options={"maxfev": max_evaluations, "xatol": 1e-3,
                                        "fatol": 1e-4, "initial_simplex": _simplex(x0)})
    best = history[int(np.argmin([h["objective"] for h in history]))]
    return Calibration(list(params), {p.path: best[p.path] for p in params},
                       best["objective"], history[0]["objective"], len(history), history,
                       str(result.message))


def check_bounds(path: str | os.PathLike[str], base: Scenario, params: Sequence[Param]) -> None:
    """Refuse, before any run, a parameter that is not a number of the scenario or that the
    scenario refuses at LOW or at HIGH (each bound alone: a fit may go to either).

    Raises
    ------
    ScenarioError
        With an issue per problem, labelled with the ``--param`` at fault and the bound.
    """
    issues: list[Issue] = []
    dumped = base.model_dump()
    for p in params:
        current = _lookup(dumped, p.path)
        if current is not None and (isinstance(current, bool)
                                    or not isinstance(current, int | float)):
            issues.append(Issue(tuple(p.path.split(".")), f"not a number (the scenario has "
                                f"{show(current)} here): calibrate fits numeric fields",
                                p.option))
            continue
        issues += _bound_issues(path, p)
    if issues:
        raise ScenarioError(issues)


def _bound_issues(path: str | os.PathLike[str], p: Param) -> list[Issue]:
    """The scenario's problems with `p` at LOW and at HIGH; one that both bounds have (a path
    that leads nowhere) once, the others labelled with their bound."""
    found: dict[tuple[tuple[str | int, ...], str], list[str]] = {}
    for bound, unit in (("LOW", 0.0), ("HIGH", 1.0)):
        try:
            load(path, [p.override(unit)])
        except ScenarioError as err:
            for issue in err.issues:
                found.setdefault((issue.path, issue.message), []).append(bound)
    out = []
    for (where, message), bounds in found.items():
        if len(bounds) == 1:
            value = p.low if bounds[0] == "LOW" else p.high
            message = f"{bounds[0]} = {value:g} is refused: {message}"
        out.append(Issue(where, message, p.option))
    return out


def _objective(scenario: Scenario, seed: int, replicates: int) -> float:
    res = run(scenario, seed=seed, replicates=replicates, command=[])
    return objective(scenario, res.tables)


def _start(base: Scenario, path: str | os.PathLike[str], p: Param) -> float:
    """The scenario's own value of the parameter, as a point of [0, 1] (0.5 if unknown)."""
    current = _lookup(base.model_dump(), p.path)
    if isinstance(current, (int, float)) and not isinstance(current, bool):
        return float(np.clip((current - p.low) / (p.high - p.low), 0.0, 1.0))
    return 0.5


def _lookup(doc: object, dotted: str) -> object:
    node = doc
    for part in dotted.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list):
            if part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = next((x for x in node if isinstance(x, dict)
                             and part in (x.get("name"), x.get("id"))), None)
        else:
            return None
    return node


def _simplex(x0: np.ndarray) -> np.ndarray:
    """A starting simplex that steps a quarter of each range (inwards at the edges)."""
    pts = [x0]
    for i in range(len(x0)):
        x = x0.copy()
        x[i] = x[i] + 0.25 if x[i] <= 0.75 else x[i] - 0.25
        pts.append(x)
    return np.array(pts)


def write_calibrated(source: str | os.PathLike[str], best: dict[str, float],
                     target: Path) -> None:
    """The scenario file with the fitted values filled in (comments kept)."""
    from ruamel.yaml import YAML

    from sim.validation import apply_overrides

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    text = Path(source).read_text(encoding="utf-8")
    doc = yaml.load(text)
    applied = apply_overrides(doc, [f"{k}={v!r}" for k, v in best.items()])
    if applied.issues:
        raise HashsimError("; ".join(str(i) for i in applied.issues))
    schema = (Path(source).resolve().parent / ".." / "schema" / "scenario.schema.json").resolve()
    tmp = target.with_name(f".{target.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        if schema.exists():
            rel = os.path.relpath(schema, target.resolve().parent)
            fh.write(f"# yaml-language-server: $schema={rel}\n")
        fh.write("# Calibrated by `hashsim calibrate`: " +
                 ", ".join(f"{k} = {v:.6g}" for k, v in best.items()) + "\n")
        body = _dump(yaml, doc)
        fh.write("\n".join(line for line in body.splitlines()
                           if not line.startswith("# yaml-")) + "\n")
    os.replace(tmp, target)


def _dump(yaml: object, doc: object) -> str:
    import io

    buf = io.StringIO()
    yaml.dump(doc, buf)  # type: ignore[attr-defined]
    return buf.getvalue()
