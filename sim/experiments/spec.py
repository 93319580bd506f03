"""The experiment file: base scenario, arms, parameters, design, replicates and seed.

An experiment is a YAML document read like a scenario: unknown keys are errors (with a
did-you-mean), every problem is reported as ``file:line:col: field: message``, and all of them
are raised together as one :class:`ExperimentError` (exit code 3)::

    name: tutorial-sweep
    scenario: ../tutorial.yaml        # relative to this file, or a bundled scenario's name
    set: {end: 2021-09-30}            # overrides applied to every run
    arms:                             # named variants; replicate k of each shares its streams
      ban: {}
      no-ban: {set: {policies: []}}
    parameters:
      hazard: {path: policies.ban.hazard_per_day, values: [0.02, 0.1], arms: [ban]}
      risk_aversion: {path: behaviour.risk_aversion, low: 1.0, high: 3.0, levels: 2}
    design: grid                      # grid | zip | lhs | halton | sobol | morris
    replicates: 3
    seed: 42
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sim.errors import Issue, ScenarioError

#: Names that become file names (arms) or column names (parameters).
ARM_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$"
PARAM_NAME = r"^[A-Za-z_][A-Za-z0-9_.]{0,99}$"


class ExperimentError(ScenarioError):
    """An experiment file (or a scenario it names) is invalid; carries every issue found."""

    exit_code = 3
    what = "experiment"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Arm(_Model):
    """A named variant of the base scenario."""

    scenario: str | None = Field(
        None, description="another base scenario for this arm (path relative to the "
        "experiment file, or a bundled scenario's name); default: the experiment's")
    set: dict[str, Any] = Field(
        default_factory=dict, description="overrides, dotted path → value, as `--set`")
    description: str = ""


class Parameter(_Model):
    """A swept input: a list of values, or a range [low, high] (sampled uniformly)."""

    path: str | list[str] | None = Field(
        None, description="dotted scenario path(s) the value is written to; default: the "
        "parameter's name. A list writes the same value to every path")
    values: list[Any] | None = Field(None, min_length=1, description="discrete values")
    low: float | None = Field(None, allow_inf_nan=False, description="lower end of a range")
    high: float | None = Field(None, allow_inf_nan=False, description="upper end of a range")
    scale: Literal["linear", "log"] = Field(
        "linear", description="log: uniform in log(value) (low must be > 0)")
    integer: bool = Field(False, description="whole numbers from low (rounded up) to high "
                          "(rounded down), each equally likely in random designs")
    levels: int | None = Field(
        None, ge=2, le=100_000, description="points of a range in a grid or zip design, "
        "evenly spaced from low to high")
    arms: list[str] | None = Field(
        None, min_length=1, description="arms the parameter applies to; default: all")

    @model_validator(mode="after")
    def _kind(self) -> Parameter:
        has_range = self.low is not None or self.high is not None
        if self.values is not None and has_range:
            raise ValueError("give either values or low/high, not both")
        if self.values is None and not has_range:
            raise ValueError("give values: [...] or a range low: ..., high: ...")
        if has_range:
            if self.low is None or self.high is None:
                raise ValueError("a range needs both low and high")
            if not self.low < self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")
            if self.scale == "log" and self.low <= 0:
                raise ValueError(f"a log scale needs low > 0 (got {self.low})")
            if self.integer and math.ceil(self.low) > math.floor(self.high):
                raise ValueError(f"integer: true needs a whole number from low ({self.low}) "
                                 f"to high ({self.high})")
        elif self.levels is not None:
            raise ValueError("levels applies to a range (low/high), not to values")
        return self

    @property
    def paths(self) -> list[str]:
        """The dotted scenario paths this parameter writes."""
        return [self.path] if isinstance(self.path, str) else list(self.path or [])

    @property
    def is_range(self) -> bool:
        return self.values is None

    def from_unit(self, u: float) -> Any:
        """The parameter value at ``u`` in [0, 1] (a quantile of its uniform distribution).

        This is how random designs (lhs, halton, sobol) map the unit cube. ``u = 0`` and
        ``u = 1`` give ``low`` and ``high`` exactly. A list of values: the value of index
        ``floor(u·k)``. An integer range: every whole number ``n`` from ``ceil(low)`` to
        ``floor(high)`` owns the cell ``[n − ½, n + ½]`` of the (log-)uniform distribution, so
        each is equally likely on a linear scale and a Latin hypercube of k points over k whole
        numbers takes each once.
        """
        if self.values is not None:
            return self.values[min(max(int(u * len(self.values)), 0), len(self.values) - 1)]
        if self.integer:
            lo, hi = self._whole_ends()
            return self._whole(self._interpolate(u, lo - 0.5, hi + 0.5), lo, hi)
        assert self.low is not None and self.high is not None
        return self._interpolate(u, self.low, self.high)

    def at(self, u: float) -> Any:
        """The point at fraction ``u`` of the range: evenly spaced points of a grid or zip
        design (``levels``) and Morris' levels. Linear (or, with ``scale: log``, geometric)
        interpolation from ``low`` to ``high``; an integer range goes from ``ceil(low)`` to
        ``floor(high)`` and is rounded half up. ``u = 0`` and ``u = 1`` are the ends exactly."""
        if self.values is not None:
            return self.from_unit(u)
        if self.integer:
            lo, hi = self._whole_ends()
            return self._whole(self._interpolate(u, lo, hi), lo, hi)
        assert self.low is not None and self.high is not None
        return self._interpolate(u, self.low, self.high)

    def _whole_ends(self) -> tuple[int, int]:
        assert self.low is not None and self.high is not None
        return math.ceil(self.low), math.floor(self.high)

    @staticmethod
    def _whole(x: float, lo: int, hi: int) -> int:
        return min(max(math.floor(x + 0.5), lo), hi)  # half up, not to even; inside the range

    def _interpolate(self, u: float, low: float, high: float) -> float:
        if u <= 0.0:
            return float(low)
        if u >= 1.0:
            return float(high)
        if self.scale == "log":
            x = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            x = low + u * (high - low)
        return float(min(max(x, low), high))  # no rounding past the ends

    def grid(self) -> list[Any]:
        """Every value of a grid or zip design: the values, or `levels` points of the range
        (floats tidied to 12 significant digits, so that 0.1 to 0.7 in 4 levels is 0.1, 0.3,
        0.5, 0.7 and 30 to 3000 on a log scale in 3 is 30, 300, 3000)."""
        if self.values is not None:
            return list(self.values)
        if self.levels is None:
            raise ValueError("a range in a grid or zip design needs levels: N")
        assert self.low is not None and self.high is not None
        out = [self.at(k / (self.levels - 1)) for k in range(self.levels)]
        if not self.integer:
            out = [min(max(float(f"{x:.12g}"), self.low), self.high) for x in out]
        return out


class Grid(_Model):
    """Every combination of the parameters' values (the last parameter varies fastest)."""

    kind: Literal["grid"]


class Zip(_Model):
    """The i-th value of every parameter together: the lists must have the same length."""

    kind: Literal["zip"]


class Lhs(_Model):
    """Latin hypercube sample (scipy.stats.qmc.LatinHypercube)."""

    kind: Literal["lhs"]
    samples: int = Field(ge=1, le=10_000_000, description="number of design points")


class Halton(_Model):
    """Scrambled Halton sequence (scipy.stats.qmc.Halton)."""

    kind: Literal["halton"]
    samples: int = Field(ge=1, le=10_000_000, description="number of design points")


class Sobol(_Model):
    """Saltelli's design on a scrambled Sobol' sequence: N·(d+2) points for Sobol' indices."""

    kind: Literal["sobol"]
    base_samples: int = Field(
        ge=2, le=2**22, description="N, a power of 2; the design has N·(d+2) points")

    @model_validator(mode="after")
    def _power_of_two(self) -> Sobol:
        n = self.base_samples
        if n & (n - 1):
            lower = 1 << (n.bit_length() - 1)
            raise ValueError(f"base_samples must be a power of 2 (e.g. {lower} or {2 * lower}),"
                             f" got {n}")
        return self


class Morris(_Model):
    """Morris' elementary-effects design: r trajectories of d+1 points on a p-level grid."""

    kind: Literal["morris"]
    trajectories: int = Field(10, ge=2, le=1_000_000, description="r")
    levels: int = Field(4, ge=2, le=1000, description="p, even (Δ = p / (2(p−1)))")

    @model_validator(mode="after")
    def _even(self) -> Morris:
        if self.levels % 2:
            raise ValueError(f"levels must be even (got {self.levels})")
        return self


DESIGNS: dict[str, type[_Model]] = {"grid": Grid, "zip": Zip, "lhs": Lhs, "halton": Halton,
                                    "sobol": Sobol, "morris": Morris}


def _design_shorthand(value: Any) -> Any:
    """``design: grid`` is short for ``design: {kind: grid}``."""
    return {"kind": value} if isinstance(value, str) else value


DesignSpec = Annotated[
    Grid | Zip | Lhs | Halton | Sobol | Morris,
    Field(discriminator="kind"),
    BeforeValidator(_design_shorthand),
]


class Experiment(_Model):
    """A whole experiment file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
                      description="names the default results directory results/<name>")
    description: str = ""
    scenario: str = Field(min_length=1, description="base scenario: a path relative to the "
                          "experiment file, or a bundled scenario's name")
    set: dict[str, Any] = Field(default_factory=dict,
                                description="overrides applied to every run (path → value)")
    arms: dict[Annotated[str, Field(pattern=ARM_NAME)], Arm] = Field(
        default_factory=lambda: {"base": Arm()}, min_length=1,
        description="named variants; default: one arm named 'base'")
    parameters: dict[Annotated[str, Field(pattern=PARAM_NAME)], Parameter] = Field(
        default_factory=dict, description="swept inputs by name (columns param_<name>)")
    design: DesignSpec = Field(default_factory=lambda: Grid(kind="grid"))
    replicates: int = Field(1, ge=1, le=1_000_000, description="seeded runs per design point")
    seed: int | None = Field(None, ge=0, lt=2**63, description="master seed; null = the "
                             "base scenario's seed, else drawn and recorded in the manifest")
    crn: Literal["arms", "all"] = Field(
        "arms", description="common random numbers: 'arms' — arms of a design point share "
        "streams; 'all' — every design point and arm shares them (replicate k everywhere)")

    @model_validator(mode="before")
    @classmethod
    def _default_paths(cls, data: Any) -> Any:
        """An arm given as nothing (``ban:``) is the base scenario; a parameter without
        ``path`` writes to the path its name spells."""
        if isinstance(data, dict) and isinstance(data.get("arms"), dict):
            data = {**data, "arms": {k: {} if v is None else v for k, v in data["arms"].items()}}
        params = data.get("parameters") if isinstance(data, dict) else None
        if not isinstance(params, dict):
            return data
        filled = {n: {**p, "path": n} if isinstance(p, dict) and p.get("path") is None else p
                  for n, p in params.items()}
        return {**data, "parameters": filled}

    def arm_index(self, arm: str) -> int:
        return list(self.arms).index(arm)


#: Texts that pandas (and most CSV readers) read as a missing value.
_READ_AS_MISSING = frozenset({"na", "nan", "-nan", "null", "none", "n/a", "1.#ind", "1.#qnan",
                              "-1.#ind", "-1.#qnan", "#na"})


def semantic_issues(exp: Experiment) -> list[tuple[tuple[str | int, ...], str]]:
    """Checks across sections: arm names of parameters, and what each design needs."""
    from sim.validation import did_you_mean

    out: list[tuple[tuple[str | int, ...], str]] = []
    for arm in exp.arms:
        if arm.lower() in _READ_AS_MISSING:
            out.append((("arms", arm), f"'{arm}' cannot name an arm: CSV readers take it for a "
                        "missing value"))
    for name, par in exp.parameters.items():
        for i, arm in enumerate(par.arms or []):
            if arm not in exp.arms:
                hint = did_you_mean(arm, exp.arms) or f"arms are: {', '.join(exp.arms)}"
                out.append((("parameters", name, "arms", i), f"no arm named '{arm}'; {hint}"))
        if not par.paths:
            out.append((("parameters", name, "path"), "give at least one path"))
    kind = exp.design.kind
    if kind != "grid" and not exp.parameters:
        out.append((("design",), f"a {kind} design needs at least one parameter"))
    if kind in ("grid", "zip"):
        for name, par in exp.parameters.items():
            if par.is_range and par.levels is None:
                out.append((("parameters", name),
                            f"a range in a {kind} design needs levels: N (points from low to "
                            "high), or give values: [...]"))
    if kind == "zip":
        lengths = {n: len(p.values) if p.values is not None else p.levels
                   for n, p in exp.parameters.items()}
        if len(set(lengths.values()) - {None}) > 1:
            text = ", ".join(f"{n}: {k}" for n, k in lengths.items())
            out.append((("design",), f"a zip design pairs the i-th values of every parameter, "
                        f"so their lists must have the same length ({text}); use grid for all "
                        "combinations"))
    if kind in ("sobol", "morris"):
        for name, par in exp.parameters.items():
            if not par.is_range:
                out.append((("parameters", name, "values"),
                            f"a {kind} design samples ranges: give low and high instead of "
                            "values"))
    for name, par in exp.parameters.items():  # whole numbers too few for the levels
        if not (par.is_range and par.integer):
            continue
        if kind in ("grid", "zip") and par.levels is not None:
            points, what = par.grid(), f"levels: {par.levels}"
        elif isinstance(exp.design, Morris):
            points = [par.at(k / (exp.design.levels - 1)) for k in range(exp.design.levels)]
            what = f"the morris design's levels: {exp.design.levels}"
        else:
            continue
        if len(set(points)) < len(points):
            lo, hi = math.ceil(par.low or 0), math.floor(par.high or 0)
            shown = ", ".join(str(v) for v in points[:8]) + (", …" if len(points) > 8 else "")
            out.append((("parameters", name, "integer"),
                        f"{what} on the whole numbers {lo} to {hi} repeat values ({shown}): "
                        "use fewer levels or a wider range"))
    return out


# ---------------------------------------------------------------------------- reading


def read(path: str, text: str) -> Experiment:
    """Validate experiment YAML ``text`` (read from ``path``); raises :class:`ExperimentError`."""
    from pydantic import ValidationError

    doc = _parse(path, text)
    try:
        exp = Experiment.model_validate(_plain(doc))
    except ValidationError as exc:
        issues = [_issue(doc, path, _clean_loc(doc, tuple(e["loc"])), _message(e),
                         at_key=e["type"] == "extra_forbidden")
                  for e in exc.errors(include_url=False)]
        raise ExperimentError(_sorted(issues)) from None
    problems = semantic_issues(exp)
    if problems:
        raise ExperimentError(_sorted([_issue(doc, path, p, m) for p, m in problems]))
    return exp


def issue_at(doc: Any, file: str, loc: tuple[str | int, ...], message: str) -> Issue:
    """An issue located at ``loc`` in a round-trip document ``doc``."""
    return _issue(doc, file, loc, message)


def parse_yaml(path: str, text: str) -> Any:
    """The round-trip document of experiment text (positions kept); raises ExperimentError."""
    return _parse(path, text)


def _parse(path: str, text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise ExperimentError([Issue((), f"invalid YAML: {exc.problem or exc.context}", path,
                                     line, col)]) from None
    except (YAMLError, ValueError) as exc:
        raise ExperimentError([Issue((), f"invalid YAML: {exc}", path, 1, 1)]) from None
    if not isinstance(doc, CommentedMap):
        what = "nothing" if doc is None else "a list" if isinstance(doc, list) else \
            f"the value {doc!r}"
        raise ExperimentError([Issue((), "expected a mapping (name: ..., scenario: ..., "
                                     f"arms: ...) at the top level, got {what}", path, 1, 1)])
    return doc


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers → plain dicts and lists."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, dt.datetime | dt.date):
        return node
    if isinstance(node, str):
        return str(node)
    return node


def _clean_loc(doc: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop what pydantic adds to ``loc`` that is not in the document (union tags, validators)."""
    out: list[str | int] = []
    node = doc
    for elem in loc:
        if isinstance(node, dict) and elem not in node:
            if elem == node.get("kind") or (isinstance(elem, str) and "[" in elem):
                continue
            if isinstance(elem, str) and elem in DESIGNS:
                continue
        out.append(elem)
        if isinstance(node, dict):
            node = node.get(elem)
        elif isinstance(node, list) and isinstance(elem, int) and 0 <= elem < len(node):
            node = node[elem]
        else:
            node = None
    if out and out[-1] == "[key]":
        out.pop()
    return tuple(out)


def _message(err: Any) -> str:
    from sim.validation import did_you_mean

    kind = str(err["type"])
    loc = tuple(err["loc"])
    if kind == "extra_forbidden":
        owner = _owner_fields(loc)
        hint = did_you_mean(loc[-1], owner) if owner else ""
        return "unknown key" + (f"; {hint}" if hint else
                                f"; expected one of: {', '.join(owner)}" if owner else "")
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        tag = (err.get("ctx") or {}).get("tag", "")
        hint = did_you_mean(tag, DESIGNS)
        return f"unknown design '{tag}'; " + (hint or f"expected one of: {', '.join(DESIGNS)}")
    if kind == "union_tag_not_found":
        return f"give the design's kind: one of {', '.join(DESIGNS)}"
    if kind == "string_pattern_mismatch":
        return (f"{err.get('input')!r} is not a valid name here: use letters, digits and "
                "_ . - (no spaces)")
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _owner_fields(loc: tuple[str | int, ...]) -> list[str]:
    """Field names of the model that holds the last element of ``loc`` (best effort)."""
    models: dict[str, type[BaseModel]] = {"arms": Arm, "parameters": Parameter}
    if len(loc) == 1:
        return list(Experiment.model_fields)
    if loc[0] in models and len(loc) == 3:
        return list(models[str(loc[0])].model_fields)
    if loc[0] == "design" and len(loc) >= 2 and str(loc[1]) in DESIGNS:
        return list(DESIGNS[str(loc[1])].model_fields)
    return []


def _issue(doc: Any, file: str, loc: tuple[str | int, ...], message: str,
           at_key: bool = False) -> Issue:
    line, col = _locate(doc, loc, at_key)
    return Issue(loc, message, file, line, col)


def _locate(doc: Any, loc: tuple[str | int, ...], at_key: bool = False) -> tuple[int, int]:
    """1-based position of ``loc`` in ``doc``.

    A scalar is pointed at itself, a mapping or list at the key that introduces it (``at_key``:
    always the key), and a field that is missing at the mapping that lacks it.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    pos: tuple[int, int] = (0, 0)
    node = doc
    for depth, elem in enumerate(loc):
        last = depth == len(loc) - 1
        try:
            if isinstance(node, CommentedMap) and elem in node:
                child = node[elem]
                scalar = not isinstance(child, dict | list)
                raw = node.lc.value(elem) if scalar and not (at_key and last) \
                    else node.lc.key(elem)
            elif isinstance(node, CommentedSeq) and isinstance(elem, int) \
                    and 0 <= elem < len(node):
                child, raw = node[elem], node.lc.item(elem)
            else:  # missing: point at the mapping that lacks it
                line, col = getattr(node.lc, "line", None), getattr(node.lc, "col", None)
                if depth > 0 and isinstance(line, int) and isinstance(col, int):
                    pos = (line, col)
                break
        except (KeyError, TypeError, AttributeError):
            break
        if raw is None or raw[0] is None:
            break
        pos, node = (int(raw[0]), int(raw[1])), child
    return pos[0] + 1, pos[1] + 1


def _sorted(issues: list[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: (i.line or 0, i.col or 0))
