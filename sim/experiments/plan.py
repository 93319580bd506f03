"""From an experiment file to the list of runs: arms resolved, design built, inputs checked.

:func:`prepare` reads and validates the experiment, reads each arm's base scenario, checks that
every arm validates with its overrides and with every parameter at the ends of its range (or
at each of its values), builds the design and checks every design point of every arm (each
distinct combination of values once, see :class:`_SampleChecker`) — all before anything is
written, so that a bad experiment is an exit code 3 and an empty results folder.

Random numbers (common random numbers): the run of (sample s, arm a, replicate k) uses the
streams ``SeedSequence(seed, spawn_key=(s, k, stream))`` — the arm is not part of the key, so
replicate k of every arm of a design point draws the same numbers, and their difference has low
variance. With ``crn: all`` the key is ``(0, k, stream)`` for every design point too.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import Issue, ScenarioError
from sim.experiments.design import Design, build
from sim.experiments.spec import Experiment, ExperimentError, issue_at, parse_yaml, read
from sim.validation.common import SET_FILE

#: Limits that keep a typo (levels: 1000 on five parameters) from filling the disk.
MAX_SAMPLES = 10_000_000
MAX_RUNS = 100_000_000


@dataclass(frozen=True)
class ArmPlan:
    """An arm's base scenario (text and where it came from) and its overrides."""

    name: str
    index: int
    scenario_file: str
    scenario_text: str
    overrides: tuple[str, ...]

    @property
    def scenario_sha256(self) -> str:
        return hashlib.sha256(self.scenario_text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Task:
    """One run: design point ``sample`` of ``arm``, replicate ``replicate``.

    ``stream_sample`` is the sample part of the random-stream key (``sample``, or 0 with
    ``crn: all``); ``params`` the parameter columns of this run (None where a parameter does
    not apply to the arm).
    """

    sample: int
    arm: str
    arm_index: int
    replicate: int
    stream_sample: int
    seed: int
    scenario_file: str
    scenario_text: str
    overrides: tuple[str, ...]
    params: tuple[tuple[str, Any], ...]
    fmt: str = "csv"
    fault: str | None = None

    @property
    def order(self) -> tuple[int, int, int]:
        """Sort key of the combined tables: (sample, arm's position in the file, replicate)."""
        return self.sample, self.arm_index, self.replicate

    @property
    def label(self) -> str:
        return f"s{self.sample:06d}-{self.arm}-r{self.replicate:06d}"

    @property
    def shard(self) -> str:
        """The shard's folder, relative to the results directory."""
        return f"shards/s{self.sample:06d}/{self.arm}/r{self.replicate:06d}"


@dataclass(frozen=True)
class Plan:
    """A validated experiment, ready to run."""

    experiment: Experiment = field(repr=False)  # (a short repr: a notebook shows the plan)
    file: str
    text: str = field(repr=False)
    arms: list[ArmPlan] = field(repr=False)
    design: Design = field(repr=False)
    seed: int
    seed_source: str
    extra_overrides: tuple[str, ...] = ()
    fingerprint: str = field(default="")

    @property
    def num_tasks(self) -> int:
        return self.design.num_samples * len(self.arms) * self.experiment.replicates

    def tasks(self, fmt: str = "csv", faults: dict[str, str] | None = None) -> list[Task]:
        """Every run, in combine order (sample, arm, replicate)."""
        exp = self.experiment
        out: list[Task] = []
        for s, point in enumerate(self.design.values):
            for arm in self.arms:
                applied = {n: v for n, v in point.items()
                           if arm.name in (exp.parameters[n].arms or [arm.name])}
                overrides = arm.overrides + tuple(
                    f"{path}={yaml_value(v)}" for n, v in applied.items()
                    for path in exp.parameters[n].paths)
                params = tuple((n, applied.get(n)) for n in self.design.names)
                for k in range(exp.replicates):
                    task = Task(s, arm.name, arm.index, k, s if exp.crn == "arms" else 0,
                                self.seed, arm.scenario_file, arm.scenario_text, overrides,
                                params, fmt)
                    fault = (faults or {}).get(task.label) or (faults or {}).get("*")
                    out.append(task if fault is None else _with_fault(task, fault))
        return out


def _with_fault(task: Task, fault: str) -> Task:
    from dataclasses import replace

    return replace(task, fault=fault)


def yaml_value(value: Any) -> str:
    """``value`` as YAML flow text that reads back as the same value (for ``--set``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_value(str(k))}: {yaml_value(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def prepare(path: str | os.PathLike[str], extra_overrides: Sequence[str] = (),
            seed: int | None = None) -> Plan:
    """Read, validate and resolve an experiment file; raises :class:`ExperimentError`.

    ``extra_overrides`` (the CLI's ``--set``) apply to every arm after the file's own.
    ``seed`` replaces the file's seed (resuming uses the seed recorded in the manifest).
    """
    from sim.bundled import resolve_experiment
    from sim.results import ArgumentTypeError, override_list, whole_number

    if not isinstance(path, str | os.PathLike):
        raise ArgumentTypeError(f"path must be an experiment file or a bundled experiment's "
                                f"name (a str or a path), not {type(path).__name__}")
    extra_overrides = override_list(extra_overrides, "extra_overrides")
    if seed is not None:
        seed = whole_number(seed, "seed", 0)
    file = os.fspath(resolve_experiment(os.fspath(path)))
    text = _read_text(file)
    exp = read(file, text)
    doc = parse_yaml(file, text)
    base_dir = Path(file).resolve().parent
    issues: list[Issue] = []
    where: dict[str, tuple[str | int, ...]] = {}
    common = []
    for key, value in exp.set.items():
        expr = f"{key}={yaml_value(value)}"
        common.append(expr)
        where[expr] = ("set", key)
    common += list(extra_overrides)
    arms: list[ArmPlan] = []
    for index, (name, arm) in enumerate(exp.arms.items()):
        ref = arm.scenario or exp.scenario
        loc: tuple[str | int, ...] = ("arms", name, "scenario") if arm.scenario else ("scenario",)
        scen_file = _resolve_scenario(ref, base_dir)
        if scen_file is None:
            missing = issue_at(doc, file, loc, f"scenario file not found: {ref} (a path "
                               f"relative to {base_dir}, or a bundled scenario's name)")
            if missing not in issues:  # (once for the arms that share the base scenario)
                issues.append(missing)
            continue
        own = []
        for key, value in arm.set.items():
            expr = f"{key}={yaml_value(value)}"
            own.append(expr)
            where[expr] = ("arms", name, "set", key)
        scen_text = Path(scen_file).read_text(encoding="utf-8-sig")
        arms.append(ArmPlan(name, index, scen_file, scen_text, tuple(common + own)))
    if issues:
        raise ExperimentError(issues)
    _check_size(exp, doc, file)
    origins: list[tuple[str | int, ...] | None] = [("set", key) for key in exp.set]
    origins += [None] * len(extra_overrides)  # None: --set
    clashes = [_clashes(exp, doc, file, arm, origins + [
        ("arms", arm.name, "set", key) for key in exp.arms[arm.name].set]) for arm in arms]
    checked = [_check_arm(exp, doc, file, arm, where) for arm in arms]
    issues = _merge_arms([i for found in clashes for i in found]
                         + [i for found in checked for i in found[1]])
    if issues:
        raise ExperimentError(issues)
    seed_used, source = _seed(exp, seed, checked[0][0])
    try:
        design = build(exp.parameters, exp.design, seed_used)
    except ValueError as exc:
        raise ExperimentError([issue_at(doc, file, ("design",), str(exc))]) from None
    issues = _merge_arms([i for arm in arms for i in _check_samples(exp, doc, file, arm, design)])
    if issues:
        raise ExperimentError(issues)
    plan = Plan(exp, file, text, arms, design, seed_used, source, tuple(extra_overrides))
    return _with_fingerprint(plan)


def num_samples(exp: Experiment) -> int:
    """How many design points the experiment's design has (without building it)."""
    d = exp.design
    params = list(exp.parameters.values())
    if d.kind == "grid":
        return math.prod(len(p.values) if p.values is not None else p.levels or 1
                         for p in params)
    if d.kind == "zip":
        return max([len(p.values) if p.values is not None else p.levels or 1
                    for p in params] or [1])
    if d.kind == "sobol":
        return d.base_samples * (len(params) + 2)
    if d.kind == "morris":
        return d.trajectories * (len(params) + 1)
    return int(d.samples)


def _check_size(exp: Experiment, doc: Any, file: str) -> None:
    runs = num_samples(exp) * len(exp.arms) * exp.replicates
    if num_samples(exp) > MAX_SAMPLES or runs > MAX_RUNS:
        raise ExperimentError([issue_at(
            doc, file, ("design",), f"the experiment has {num_samples(exp):,} design points "
            f"and {runs:,} runs; at most {MAX_SAMPLES:,} points and {MAX_RUNS:,} runs")])


def _seed(exp: Experiment, seed: int | None, first: Any) -> tuple[int, str]:
    from sim.rng import draw_seed

    if seed is not None:
        return seed, "given"
    if exp.seed is not None:
        return exp.seed, "experiment"
    if first is not None and first.seed is not None:
        return int(first.seed), "scenario"
    return draw_seed(), "drawn"


def _read_text(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        message = "file not found"
    except IsADirectoryError:
        message = "is a directory, not an experiment file"
    except UnicodeDecodeError:
        message = "not UTF-8 text; save the file as UTF-8"
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
    raise ExperimentError([Issue((), message, file)])


def _resolve_scenario(ref: str, base_dir: Path) -> str | None:
    from sim.bundled import resolve

    candidate = base_dir / ref
    if candidate.is_file():
        return os.path.relpath(candidate) if not Path(ref).is_absolute() else ref
    bundled = resolve(ref)
    return str(bundled) if bundled.is_file() else None


def _check_arm(exp: Experiment, doc: Any, file: str, arm: ArmPlan,
               where: dict[str, tuple[str | int, ...]]) -> tuple[Any, list[Issue]]:
    """The arm's scenario, and the issues of the arm and of its parameters' extreme values."""
    from sim.validation import loads

    try:
        scenario = loads(arm.scenario_text, arm.scenario_file, arm.overrides)
    except ScenarioError as err:
        return None, [_relocate(i, doc, file, arm.name, where) for i in err.issues]
    issues: list[Issue] = []
    for name, par in exp.parameters.items():
        if par.arms is not None and arm.name not in par.arms:
            continue
        for value, loc in _test_values(name, par):
            exprs = tuple(f"{p}={yaml_value(value)}" for p in par.paths)
            try:
                loads(arm.scenario_text, arm.scenario_file, arm.overrides + exprs)
            except ScenarioError as err:
                for i in err.issues:
                    what = f"{i.dotted_path}: {i.message}" if i.path else i.message
                    issues.append(issue_at(doc, file, loc, f"with {name} = {value!r} in arm "
                                           f"'{arm.name}': {what}"))
                break  # one bad value per parameter is enough to say
    return scenario, issues


def _clashes(exp: Experiment, doc: Any, file: str, arm: ArmPlan,
             origins: list[tuple[str | int, ...] | None]) -> list[Issue]:
    """Values of the arm that a parameter would silently replace: two parameters writing the
    same place (or one inside the other's), or an override (`set`, the arm's `set`, `--set`)
    writing where a parameter writes, or inside it. Parameters are written last, so their
    value would win in every run while the other value is still read as given (samples.csv
    would record both parameters, and sensitivity measure noise). An override that writes a
    whole section a parameter then writes into (an arm's own `policies: [...]`) gives the
    structure the parameter needs and is fine.

    Paths are compared as they resolve in the arm's scenario (``policies.ban`` and
    ``policies.1`` are the same place). ``origins`` is where each of the arm's overrides
    comes from, in the arm's order (None: ``--set``); a clash with ``--set`` is a usage
    error, raised here.
    """
    from sim.validation import apply_overrides
    from sim.validation.reading import parse_yaml as parse_scenario

    if not any(par.arms is None or arm.name in par.arms for par in exp.parameters.values()):
        return []  # nothing swept in this arm
    scenario, problems = parse_scenario(arm.scenario_text, arm.scenario_file, document=True)
    if problems:
        return []  # the arm's check reports them

    def target(expr: str) -> tuple[str | int, ...] | None:
        applied = apply_overrides(scenario, [expr])
        return None if applied.issues or not applied.paths else max(applied.paths, key=len)

    written = [(target(expr), expr) for expr in arm.overrides]  # in the order a run applies
    swept: list[tuple[tuple[str | int, ...], str, str]] = []  # (place, parameter, its path)
    issues: list[Issue] = []
    for name, par in exp.parameters.items():
        if par.arms is not None and arm.name not in par.arms:
            continue
        value = yaml_value(_test_values(name, par)[0][0])
        for path in dict.fromkeys(par.paths):
            place = target(f"{path}={value}")
            if place is None:
                continue  # the arm's check says why
            for other, other_name, other_path in swept:
                if other_name != name and _nested(other, place):
                    issues.append(issue_at(doc, file, ("parameters", name, "path"),
                                           f"in arm '{arm.name}': " + _overlap(
                                               path, place, other_name, other_path, other)))
                    break
            swept.append((place, name, path))
    for k, (place, expr) in enumerate(written):
        hit = next((s for s in swept if place is not None and place[:len(s[0])] == s[0]), None)
        if hit is None:
            continue
        why = f"parameter '{hit[1]}' sweeps {hit[2]}, and its values replace this one in every run"
        origin = origins[k]
        if origin is None:
            from sim.errors import HashsimError

            raise HashsimError(f"--set {expr}: {why} ({file}); drop the --set, or change the "
                               "parameter's values")
        issues.append(issue_at(doc, file, origin, f"in arm '{arm.name}': {why}; drop it "
                               "here, or limit the parameter to other arms (arms: [...])"))
    return issues


def _overlap(path: str, place: tuple[str | int, ...], other_name: str, other_path: str,
             other: tuple[str | int, ...]) -> str:
    """Why a parameter writing `path` (at `place`) clashes with one writing `other`."""
    if place == other:
        where = "" if path == other_path else f" ({_dotted(place)})"
        what = f"writes the same place as parameter '{other_name}'{where}"
    elif place[:len(other)] == other:
        what = f"writes inside {_dotted(other)}, which parameter '{other_name}' writes"
    else:
        what = f"writes {_dotted(place)}, which holds what parameter '{other_name}' writes " \
               f"({_dotted(other)})"
    return f"{what}: one value would replace the other in every run; give each parameter a " \
           "place of its own"


def _nested(a: tuple[str | int, ...], b: tuple[str | int, ...]) -> bool:
    """Whether one path is the other or lies inside it."""
    return a[:len(b)] == b or b[:len(a)] == a


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)


#: Invalid design points reported in full per arm; the others are counted.
MAX_SAMPLE_ISSUES = 5


def _check_samples(exp: Experiment, doc: Any, file: str, arm: ArmPlan, design: Design
                   ) -> list[Issue]:
    """The issues of the arm's design points: every distinct combination of its parameters'
    values, validated once, as a run would (a grid's midpoint can be invalid where both ends
    are valid: ``rigs`` of 100 and 201 in 3 levels gives 150.5)."""
    names = [n for n in design.names if arm.name in (exp.parameters[n].arms or [arm.name])]
    if not names:
        return []  # the arm as it is: _check_arm validated it
    combos: dict[tuple[str, ...], list[int]] = {}  # values as YAML → [first sample, count]
    for s, point in enumerate(design.values):
        key = tuple(yaml_value(point[n]) for n in names)
        seen = combos.get(key)
        if seen is None:
            combos[key] = [s, 1]
        else:
            seen[1] += 1
    paths = [exp.parameters[n].paths for n in names]
    checker = _SampleChecker(arm, paths, next(iter(combos)))
    bad: list[tuple[tuple[str, ...], list[int]]] = []
    for key, seen in combos.items():
        if not checker.valid(key, tuple(design.values[seen[0]][n] for n in names)):
            bad.append((key, seen))
            if not checker.fast and len(bad) > MAX_SAMPLE_ISSUES:
                break  # without the fast check each point costs a full load: say enough
    issues: list[Issue] = []
    reported = examined = 0
    for key, (first, count) in bad:
        if reported == MAX_SAMPLE_ISSUES:
            break
        examined += 1
        found = checker.issues(key)  # the full load: located issues (and the last word)
        reported += bool(found)
        values = ", ".join(f"{n} = {text}" for n, text in zip(names, key, strict=True))
        others = f" and {count - 1} other sample(s) with these values" if count > 1 else ""
        exprs = {expr: name for name, value, ps in zip(names, key, paths, strict=True)
                 for expr in (f"{p}={value}" for p in ps)}
        for i in found:
            what = f"{i.dotted_path}: {i.message}" if i.path else i.message
            expr = (i.file or "").removeprefix("--set ")
            loc: tuple[str | int, ...] = ("parameters", exprs[expr]) if expr in exprs \
                else ("design",)
            issues.append(issue_at(doc, file, loc, f"at sample {first}{others} ({values}) in "
                                   f"arm '{arm.name}': {what}"))
    if reported and examined < len(bad):
        more = f"{len(bad) - examined} more" if checker.fast else "more (not all checked)"
        issues.append(issue_at(doc, file, ("design",), f"{more} invalid combination(s) of "
                               f"parameter values in arm '{arm.name}'"))
    return issues


class _SampleChecker:
    """Validates an arm's scenario with its parameters at given values, as a run would.

    The full :func:`sim.validation.loads` reads the scenario's YAML every time (tens to
    hundreds of milliseconds); a design of thousands of points needs a faster way, which gives
    the same answer: the scenario is read and the arm's overrides applied once, each
    parameter's path resolved once to the place it writes; each combination of values is
    written into the plain document (copying only the containers on the way) and validated
    with pydantic and the reference checks, as ``loads`` does. The scenario's sections that no
    parameter touches are given as their validated models, which pydantic takes as they are
    (checked once against a full validation). The fast way is not used where one parameter's
    value could change where another's path leads (a path inside another's, or one that
    renames a list item). A combination it finds invalid is reported only once ``loads``
    agrees, with ``loads``'s located issues.
    """

    def __init__(self, arm: ArmPlan, paths: Sequence[Sequence[str]], probe: tuple[str, ...]
                 ) -> None:
        self.arm = arm
        self.paths = paths
        self.fast = False
        self._texts: dict[str, Any] = {}
        self._issues: dict[tuple[str, ...], list[Issue]] = {}
        self._top: dict[str, Any] = {}
        self._targets: list[list[tuple[str | int, ...]]] = []
        self._copy_all = True
        try:
            self._prepare(probe)
        except Exception:  # anything unexpected: the full load decides every combination
            self.fast = False

    def _prepare(self, probe: tuple[str, ...]) -> None:
        from sim.scenario import Scenario
        from sim.validation import apply_overrides
        from sim.validation.reading import parse_yaml, plain

        doc, problems = parse_yaml(self.arm.scenario_text, self.arm.scenario_file,
                                   document=True)
        if problems or apply_overrides(doc, self.arm.overrides).issues:
            return
        untouched = Scenario.model_validate(plain(doc, {}))  # _check_arm found it valid
        targets: list[list[tuple[str | int, ...]]] = []
        for text, ps in zip(probe, self.paths, strict=True):
            resolved = []
            for path in ps:
                applied = apply_overrides(doc, [f"{path}={text}"])
                if applied.issues or not applied.paths:
                    return
                resolved.append(max(applied.paths, key=len))
            targets.append(resolved)
        flat = [t for ts in targets for t in ts]
        for t in flat:
            if t[-1] in ("name", "id") or any(len(o) > len(t) and o[:len(t)] == t
                                              for o in flat):
                return  # a value that moves or renames what another path leads to
        full = plain(doc, {})
        self._targets, self._top, self.fast = targets, full, True
        # Validation must leave its input alone for copies to share what they do not change.
        snapshot = copy.deepcopy(full)
        try:
            expected = Scenario.model_validate(full)
        except ValueError:
            return  # the probe is invalid: no reference to check the shortcut against
        if full != snapshot:
            return
        self._copy_all = False
        touched = {t[0] for t in flat}
        mixed = {k: v if k in touched else getattr(untouched, str(k), v)
                 for k, v in full.items()}
        try:
            same = Scenario.model_validate(mixed) == expected
        except ValueError:
            same = False
        if same:
            self._top = mixed

    def _value(self, text: str, value: Any) -> Any:
        """The plain value ``--set PATH=text`` writes (``text`` is ``yaml_value(value)``)."""
        if value is None or type(value) in (bool, int, float, str):
            return value  # reads back as itself (yaml_value's contract)
        if text not in self._texts:
            from sim.validation.reading import parse_yaml, plain

            parsed, problems = parse_yaml(text, "--set")
            self._texts[text] = None if problems else plain(parsed, {})
        return copy.deepcopy(self._texts[text])

    def valid(self, key: tuple[str, ...], values: tuple[Any, ...]) -> bool:
        if not self.fast:
            return not self.issues(key)
        from sim.scenario import Scenario
        from sim.validation.references import reference_findings

        doc = copy.deepcopy(self._top) if self._copy_all else dict(self._top)
        copied: set[int] = {id(doc)}
        for text, value, targets in zip(key, values, self._targets, strict=True):
            for target in targets:
                node: Any = doc
                for step in target[:-1]:
                    child = node[step]
                    if id(child) not in copied:
                        child = copy.copy(child)
                        copied.add(id(child))
                        node[step] = child
                    node = child
                node[target[-1]] = self._value(text, value)
        try:
            return not reference_findings(Scenario.model_validate(doc))
        except Exception:  # a ValidationError, or a check that trips on a bad value
            return False  # :meth:`issues` (the full load) has the last word

    def issues(self, key: tuple[str, ...]) -> list[Issue]:
        """The issues of the full load with these values (none: the combination is valid)."""
        from sim.validation import loads

        if key not in self._issues:
            exprs = tuple(f"{p}={text}" for text, ps in zip(key, self.paths, strict=True)
                          for p in ps)
            try:
                loads(self.arm.scenario_text, self.arm.scenario_file,
                      self.arm.overrides + exprs)
                self._issues[key] = []
            except ScenarioError as err:
                self._issues[key] = err.issues
        return self._issues[key]


def _merge_arms(issues: list[Issue]) -> list[Issue]:
    """One issue for a problem every arm has (``in arms 'a', 'b'``), in file order."""
    import re

    groups: dict[tuple[Any, ...], list[tuple[str, Issue]]] = {}
    for issue in issues:
        match = re.search(r"in arm '([^']*)'", issue.message)
        arm = match.group(1) if match else ""
        generic = issue.message.replace(f"in arm '{arm}'", "in arm {}") if match else \
            issue.message
        key = (issue.path, issue.file, issue.line, issue.col, generic)
        groups.setdefault(key, []).append((arm, issue))
    out: list[Issue] = []
    for (_, _, _, _, generic), members in groups.items():
        first = members[0][1]
        if len(members) == 1 or "in arm {}" not in generic:
            out.extend(i for _, i in members)
            continue
        arms = ", ".join(f"'{a}'" for a, _ in members)
        out.append(Issue(first.path, generic.replace("in arm {}", f"in arms {arms}"),
                         first.file, first.line, first.col))
    return sorted(out, key=lambda i: (i.file or "", i.line or 0, i.col or 0))


def _test_values(name: str, par: Any) -> list[tuple[Any, tuple[str | int, ...]]]:
    if par.values is not None:
        seen: dict[str, tuple[Any, tuple[str | int, ...]]] = {}
        for i, v in enumerate(par.values):
            seen.setdefault(yaml_value(v), (v, ("parameters", name, "values", i)))
        return list(seen.values())
    return [(par.from_unit(0.0), ("parameters", name, "low")),
            (par.from_unit(1.0), ("parameters", name, "high"))]


def _relocate(issue: Issue, doc: Any, file: str, arm: str,
              where: dict[str, tuple[str | int, ...]]) -> Issue:
    """A scenario issue: at the experiment's override that caused it, else where it is."""
    if issue.file == SET_FILE:  # an override that could not be applied names only its path
        expr = next((e for e in where if issue.path in (_path_of(e), (e,))), None)
        if expr is not None:
            what = f"{issue.dotted_path}: {issue.message}"
            return issue_at(doc, file, where[expr], f"in arm '{arm}': {what}")
    if issue.file is not None and issue.file.startswith("--set "):
        expr = issue.file.removeprefix("--set ")
        if expr in where:
            what = f"{issue.dotted_path}: {issue.message}" if issue.path else issue.message
            return issue_at(doc, file, where[expr], f"in arm '{arm}': {what}")
        return Issue(issue.path, f"in arm '{arm}': {issue.message}", issue.file)
    return Issue(issue.path, f"in arm '{arm}': {issue.message}", issue.file, issue.line,
                 issue.col)


def _path_of(expr: str) -> tuple[str, ...]:
    """The path of a ``PATH=VALUE`` override, as an issue of applying it names it."""
    return tuple(segment.strip() for segment in expr.partition("=")[0].split("."))


def _with_fingerprint(plan: Plan) -> Plan:
    """The fingerprint identifies what a results folder holds: resuming requires the same."""
    from dataclasses import replace

    payload = {
        "experiment": plan.experiment.model_dump(mode="json"),
        "extra_overrides": list(plan.extra_overrides),
        "seed": plan.seed,
        "arms": {a.name: [a.scenario_sha256, list(a.overrides)] for a in plan.arms},
        # the design's values themselves: another scipy (or hashsim) may draw other points from
        # the same seed, and a resume must not mix shards of two designs
        "design": hashlib.sha256(json.dumps(
            [[yaml_value(v) for v in point.values()] for point in plan.design.values],
            separators=(",", ":")).encode()).hexdigest(),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return replace(plan, fingerprint=hashlib.sha256(text.encode()).hexdigest())
