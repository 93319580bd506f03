"""Calibration: fit free scenario parameters to the observed figures.

Parameters are scenario paths as `--set` understands them (``policies.ban.hazard_per_day``).
Every evaluation runs the scenario with the same seed and replicates — common random numbers —
so the objective (sim.backtest.objective) is a deterministic function of the parameters and a
simplex method can work on it; a point already run is not run again. Parameters are searched on
[0, 1] scaled to their bounds with bounded Nelder–Mead (scipy.optimize.minimize); a field the
scenario holds as a whole number (``fleet.0.rigs``) is fitted in whole numbers.
"""

from __future__ import annotations

import os
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from scipy import optimize

from sim.backtest import objective, outside_run
from sim.errors import HashsimError, Issue, ScenarioError
from sim.results import run
from sim.scenario import Scenario
from sim.validation import load
from sim.validation.common import show
from sim.validation.overrides import list_index


@dataclass(frozen=True)
class Param:
    path: str
    low: float
    high: float
    text: str = field(default="", compare=False)  # NAME=LOW:HIGH as given, for messages
    whole: bool = field(default=False, compare=False)  # a whole-number field: values rounded

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
        """The parameter at `unit` of its range; rounded for a whole-number field, whose bounds
        the scenario has accepted as whole numbers (check_bounds), so it stays within them."""
        value = self.low + float(np.clip(unit, 0.0, 1.0)) * (self.high - self.low)
        return round(value) if self.whole else value

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
    params = [replace(p, whole=_whole_number(base, p.path)) for p in params]
    history: list[dict[str, float]] = []
    known: dict[tuple[float, ...], float] = {}  # the objective of each point run

    def evaluate(x: np.ndarray) -> float:
        point = tuple(p.value(u) for p, u in zip(params, x, strict=True))
        if point in known:  # the same seeds: the same objective, without a run
            return known[point]
        scenario = load(path, [f"{p.path}={v!r}" for p, v in zip(params, point, strict=True)])
        value = known[point] = _objective(scenario, seed, replicates)
        history.append({**dict(zip((p.path for p in params), point, strict=True)),
                        "objective": value})
        if on_evaluation:
            on_evaluation(len(history), value)
        return value

    x0 = np.array([_start(base, path, p) for p in params])
    try:
        result = optimize.minimize(evaluate, x0, method="Nelder-Mead",
                                   bounds=[(0.0, 1.0)] * len(params),
                                   options={"maxfev": max_evaluations, "xatol": 1e-3,
                                            "fatol": 1e-4, "initial_simplex": _simplex(x0)})
    except KeyboardInterrupt:
        if not history:
            raise
        raise KeyboardInterrupt(_interrupted(history, params)) from None
    best = history[int(np.argmin([h["objective"] for h in history]))]
    return Calibration(list(params), {p.path: best[p.path] for p in params},
                       best["objective"], history[0]["objective"], len(history), history,
                       str(result.message))


def _interrupted(history: list[dict[str, float]], params: Sequence[Param]) -> str:
    """What an interrupted fit says: its runs are lost, but not the best point it found (a
    start for a new fit, with narrower bounds)."""
    best = min(history, key=lambda h: h["objective"])
    where = ", ".join(f"{p.path} = {format_value(best[p.path])}" for p in params)
    return (f"interrupted after {len(history)} run{'s' * (len(history) != 1)}; nothing was "
            f"written (best so far: objective {best['objective']:.4g} at {where})")


def format_value(value: float) -> str:
    """A parameter's value as printed: a whole number as it is, a float to 6 digits."""
    return str(value) if isinstance(value, int) else f"{value:.6g}"


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
    """The value at `dotted` of a plain document (as ``--set`` reads the path), or None."""
    node = doc
    for part in dotted.split("."):
        node = _child(node, part)
    return node


def _whole_number(base: Scenario, dotted: str) -> bool:
    """Whether the scenario's field at `dotted` is an int (the scenario refuses 4187.5 rigs):
    walked through the loaded models, so a union (a policy of some kind) is the member the
    file holds; False for a path that leads nowhere."""
    node: Any = base
    annotation: Any = None
    for part in dotted.split("."):
        if isinstance(node, BaseModel):
            info = type(node).model_fields.get(part)
            if info is None:
                return False
            node, annotation = getattr(node, part, None), info.annotation
        elif isinstance(node, list):
            index = list_index(node, part)
            node = None if index is None else node[index]
            annotation = _type_argument(annotation, 0)
        elif isinstance(node, dict):
            node, annotation = node.get(part), _type_argument(annotation, -1)
        else:
            return False
    return _bare(annotation) is int


def _type_argument(annotation: Any, index: int) -> Any:
    """The element type of ``list[X]`` (index 0) or value type of ``dict[K, V]`` (-1)."""
    args = typing.get_args(_bare(annotation))
    return args[index] if args else None


def _bare(annotation: Any) -> Any:
    """`annotation` without ``Annotated`` and an optional ``None``."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        members = [m for m in typing.get_args(annotation) if m is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(members) == 1:
            annotation = members[0]
            continue
        return annotation


def _simplex(x0: np.ndarray) -> np.ndarray:
    """A starting simplex that steps a quarter of each range (inwards at the edges)."""
    pts = [x0]
    for i in range(len(x0)):
        x = x0.copy()
        x[i] = x[i] + 0.25 if x[i] <= 0.75 else x[i] - 0.25
        pts.append(x)
    return np.array(pts)


def write_calibrated(source: str | os.PathLike[str], best: dict[str, float], target: Path,
                     note: Sequence[str] = ()) -> None:
    """The scenario file with the fitted values filled in, every other line as it was (so a
    diff against the source shows the fit), and a header of comments: the fitted values and
    the lines of `note`.

    Each value is replaced where it stands, its comment kept; a field the file leaves to its
    default is added under its mapping. Where that cannot be done (a value behind an anchor,
    a mapping the file does not have) the whole document is written anew, comments kept.
    """
    from ruamel.yaml import YAML

    from sim.validation import apply_overrides

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # (a dump anew re-wraps no line)
    text = Path(source).read_text(encoding="utf-8")
    doc = yaml.load(text)
    edited = _edited(text, doc, best)
    applied = apply_overrides(doc, [f"{k}={v!r}" for k, v in best.items()])
    if applied.issues:
        raise HashsimError("; ".join(str(i) for i in applied.issues))
    if edited is None or _plain(yaml.load(edited)) != _plain(doc):
        edited = _dump(yaml, doc)
    schema = (Path(source).resolve().parent / ".." / "schema" / "scenario.schema.json").resolve()
    tmp = target.with_name(f".{target.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        if schema.exists():
            rel = os.path.relpath(schema, target.resolve().parent)
            fh.write(f"# yaml-language-server: $schema={rel}\n")
        fh.write("# Calibrated by `hashsim calibrate`: " +
                 ", ".join(f"{k} = {format_value(v)}" for k, v in best.items()) + "\n")
        fh.writelines(f"# {line}\n" for line in note)
        fh.write("\n".join(line for line in edited.splitlines()
                           if not line.startswith("# yaml-")) + "\n")
    os.replace(tmp, target)


#: A number as a plain YAML scalar: up to a space, a comma, a closing bracket or a comment.
_PLAIN_VALUE = re.compile(r"[^\s,\]}#]*")
_NULLS = ("null", "Null", "NULL", "~")


def _edited(text: str, doc: Any, best: dict[str, float]) -> str | None:
    """`text` with each value of `best` put in place (see write_calibrated), or None where one
    cannot be: `doc` is the round-trip document of `text`, before any change."""
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # line, start, end (-1: a new line after)
    for dotted, value in best.items():
        *parts, last = dotted.split(".")
        parent, above = doc, None
        for part in parts:
            above = (parent, part)
            parent = _child(parent, part)
        try:  # (a key from a merge `<<:` has no place of its own in the text)
            edit = (_replacement(lines, parent, last, repr(value))
                    if isinstance(parent, CommentedSeq)
                    or (isinstance(parent, CommentedMap) and last in parent)
                    else _new_entry(parent, above, last, repr(value)))
        except (KeyError, IndexError, TypeError):
            return None
        if edit is None:
            return None
        edits.append(edit)
    for line, start, end, new in sorted(edits, reverse=True):
        if end < 0:
            lines.insert(line + 1, new)
        else:
            lines[line] = lines[line][:start] + new + lines[line][end:]
    return "".join(lines)


def _replacement(lines: list[str], parent: CommentedMap | CommentedSeq, part: str, shown: str
                 ) -> tuple[int, int, int, str] | None:
    """The edit that writes `shown` over the plain number `part` of `parent` holds."""
    key = _child_key(parent, part)
    if key is None:
        return None
    line, col = parent.lc.item(key) if isinstance(parent, CommentedSeq) else parent.lc.value(key)
    match = _PLAIN_VALUE.match(lines[line], col)
    if match is None or not _same_number(match.group(), parent[key]):
        return None  # an anchor, an alias, a quoted or a multi-line value
    return line, col, match.end(), shown


def _child(node: Any, part: str) -> Any:
    key = _child_key(node, part)
    return None if key is None else node[key]


def _child_key(node: Any, part: str) -> Any:
    """The key of `node` that `part` names (as ``--set`` reads it), or None."""
    if isinstance(node, dict):
        return part if part in node else None
    if isinstance(node, list):
        return list_index(node, part)
    return None


def _same_number(found: str, old: Any) -> bool:
    """Whether the text `found` is the scalar `old` (a number, or null) written plainly."""
    if old is None:
        return found in _NULLS
    if isinstance(old, bool) or not isinstance(old, int | float):
        return False
    try:
        return float(found.replace("_", "")) == float(old)
    except ValueError:
        return False


def _new_entry(parent: Any, above: tuple[Any, str] | None, key: str, shown: str
               ) -> tuple[int, int, int, str] | None:
    """The line that adds `key` to the block mapping `parent`, at the indentation of its
    entries: just under the key that holds it (``behaviour:``), or in a list (``- id: ban``)
    just above its second entry; None for another layout (a flow mapping ``{…}``)."""
    if not isinstance(parent, CommentedMap) or not parent or parent.fa.flow_style() \
            or above is None:
        return None
    keys = list(parent)
    first_line, col = parent.lc.key(keys[0])
    new = f"{' ' * col}{key}: {shown}  # calibrated by hashsim calibrate\n"
    holder, name = above
    if isinstance(holder, CommentedMap):
        holder_line = holder.lc.key(name)[0]
        return (holder_line, 0, -1, new) if first_line > holder_line else None
    if len(keys) < 2:
        return None
    second_line, second_col = parent.lc.key(keys[1])
    if second_line <= first_line or second_col != col:
        return None
    return second_line - 1, 0, -1, new


def _plain(node: Any) -> Any:
    """Round-trip data as plain dicts and lists (mappings compared regardless of order)."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _dump(yaml: object, doc: object) -> str:
    import io

    buf = io.StringIO()
    yaml.dump(doc, buf)  # type: ignore[attr-defined]
    return buf.getvalue()
