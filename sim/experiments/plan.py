"""From an experiment file to the list of runs: arms resolved, design built, inputs checked.

:func:`prepare` reads and validates the experiment, reads each arm's base scenario, checks that
every arm validates with its overrides and with every parameter at the ends of its range (or
at each of its values), and builds the design — all before anything is written, so that a bad
experiment is an exit code 3 and an empty results folder.

Random numbers (common random numbers): the run of (sample s, arm a, replicate k) uses the
streams ``SeedSequence(seed, spawn_key=(s, k, stream))`` — the arm is not part of the key, so
replicate k of every arm of a design point draws the same numbers, and their difference has low
variance. With ``crn: all`` the key is ``(0, k, stream)`` for every design point too.
"""

from __future__ import annotations

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

    experiment: Experiment
    file: str
    text: str
    arms: list[ArmPlan]
    design: Design
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
    file = os.fspath(path)
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
            issues.append(issue_at(doc, file, loc, f"scenario file not found: {ref} (a path "
                                   f"relative to {base_dir}, or a bundled scenario's name)"))
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
    checked = [_check_arm(exp, doc, file, arm, where) for arm in arms]
    issues = _merge_arms([i for found in checked for i in found[1]])
    if issues:
        raise ExperimentError(issues)
    seed_used, source = _seed(exp, seed, checked[0][0])
    try:
        design = build(exp.parameters, exp.design, seed_used)
    except ValueError as exc:
        raise ExperimentError([issue_at(doc, file, ("design",), str(exc))]) from None
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
    if issue.file is not None and issue.file.startswith("--set "):
        expr = issue.file.removeprefix("--set ")
        if expr in where:
            what = f"{issue.dotted_path}: {issue.message}" if issue.path else issue.message
            return issue_at(doc, file, where[expr], f"in arm '{arm}': {what}")
        return Issue(issue.path, f"in arm '{arm}': {issue.message}", issue.file)
    return Issue(issue.path, f"in arm '{arm}': {issue.message}", issue.file, issue.line,
                 issue.col)


def _with_fingerprint(plan: Plan) -> Plan:
    """The fingerprint identifies what a results folder holds: resuming requires the same."""
    from dataclasses import replace

    payload = {
        "experiment": plan.experiment.model_dump(mode="json"),
        "extra_overrides": list(plan.extra_overrides),
        "seed": plan.seed,
        "arms": {a.name: [a.scenario_sha256, list(a.overrides)] for a in plan.arms},
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return replace(plan, fingerprint=hashlib.sha256(text.encode()).hexdigest())
