"""Read a scenario file and report every problem in it by file, line, column and field.

The way in::

    bytes ──UTF-8──▶ text ──compose──▶ YAML nodes (plain tags only, no duplicate keys)
          ──round-trip load──▶ document with positions ──--set──▶ overridden document
          ──pydantic──▶ Scenario ──check_references──▶ names, region tree, capacity, routes

Every problem on the way becomes an :class:`~sim.errors.Issue`; the issues of one stage are
collected and raised together as one :class:`~sim.errors.ScenarioError`. Field paths are those of
pydantic with the union tags taken out (``policies.2.hazard_per_day``); they are turned into
positions through ruamel's ``lc`` data, and into ``--set EXPR`` where an override wrote the value.
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import json
import os
import re
import reprlib
import types
import typing
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import networkx as nx
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from sim.errors import Issue, ScenarioError
from sim.scenario import (
    Lift,
    MiningBan,
    PoolServiceBan,
    PowerCutoff,
    RegionalPolicy,
    Scenario,
)

__all__ = [
    "AppliedOverrides",
    "FieldPath",
    "apply_overrides",
    "check_references",
    "did_you_mean",
    "load",
    "loads",
    "schema_json",
]

FieldPath = tuple[str | int, ...]
"""A field path in the document: keys and list indices, e.g. ``("fleet", 0, "pool")``."""

SET_FILE = "--set"
_TAG = "tag:yaml.org,2002:"
_COLLECTION_TAGS = frozenset({_TAG + "map", _TAG + "seq"})
_MAX_FLOW_DEPTH = 100  # nested [ ] and { }; a scenario needs fewer than 10
_BRACKETS = re.compile(r"[\[\]{}]")
_MAX_EXPANDED_NODES = 1_000_000  # aliases may repeat a node; more than this is an alias bomb
_NAME_HELP = Scenario.model_fields["name"].description
_REQUIRED = ", ".join(n for n, f in Scenario.model_fields.items() if f.is_required())


# ---------------------------------------------------------------------------- public API


def load(source: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Scenario:
    """Read, validate and cross-check a scenario file.

    Parameters
    ----------
    source
        Path of a YAML scenario file (UTF-8).
    overrides
        ``PATH=VALUE`` expressions of the CLI's ``--set``, applied in order before validation.

    Returns
    -------
    Scenario
        The validated, frozen scenario.

    Raises
    ------
    ScenarioError
        With every issue found; never any other exception for bad input.
    """
    file = str(os.fspath(source))
    return loads(_decode(_read_bytes(file), file), file, overrides)


def loads(text: str, filename: str = "<string>", overrides: Sequence[str] = ()) -> Scenario:
    """Validate a scenario given as YAML text; see :func:`load`.

    ``filename`` only names the text in issues.
    """
    try:
        return _load_text(text, filename, overrides)
    except ScenarioError:
        raise
    except RecursionError:
        raise ScenarioError(
            [Issue((), "the document is nested too deeply", filename, 1, 1)]
        ) from None
    except Exception as exc:  # last resort: a user never sees a traceback
        message = f"internal error while reading the scenario ({type(exc).__name__}: {exc}); "
        raise ScenarioError([Issue((), message + "please report it", filename, 1, 1)]) from exc


def did_you_mean(word: object, candidates: Iterable[object]) -> str:
    """Suggest the candidate closest to ``word``.

    Returns
    -------
    str
        ``"did you mean 'x'?"``, or ``""`` when no candidate is close (difflib ratio < 0.6,
        case ignored).
    """
    match = _closest(word, candidates)
    return f"did you mean '{match}'?" if match is not None else ""


def _closest(word: object, candidates: Iterable[object]) -> str | None:
    by_lower = {str(c).lower(): str(c) for c in candidates}
    matches = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def schema_json() -> str:
    """JSON Schema of :class:`~sim.scenario.Scenario`: indented, keys sorted, newline at the end."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema.update(Scenario.model_json_schema())
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check_references(scenario: Scenario) -> list[tuple[FieldPath, str]]:
    """Semantic checks that the models cannot make alone.

    Names (unique, and every reference resolvable, with a did-you-mean), the region tree (no
    cycles, rigs only in leaf regions), coins of pools and hardware, date order of pool events,
    purchases and lifts, the initial fleet's power against capacity, and the route graph
    (destinations reachable, banned rigs able to leave).

    Returns
    -------
    list of (path, message)
        One entry per problem, ``path`` being the field at fault; empty when all is well.
    """
    return [(f.path, f.message) for f in _reference_findings(scenario)]


class AppliedOverrides(NamedTuple):
    """What :func:`apply_overrides` did.

    ``paths`` maps each path an override wrote or created (list elements addressed by name
    resolved to indices) to its ``PATH=VALUE`` expression; ``issues`` are the overrides that
    could not be applied.
    """

    paths: dict[FieldPath, str]
    issues: list[Issue]


def apply_overrides(doc: CommentedMap, overrides: Sequence[str]) -> AppliedOverrides:
    """Apply ``--set PATH=VALUE`` expressions to a round-trip document, in place.

    ``PATH`` is dotted: mapping keys, list indices (``policies.2.hazard_per_day``) or list
    elements by ``name`` (or policy ``id``): ``regions.sichuan.capacity_mw``. Missing mapping
    keys are created; a missing list element is an error. ``VALUE`` is read as YAML
    (``90``, ``null``, ``2021-06-20``, ``[a, b]``, ``{kind: constant, usd: 1}``).
    """
    applied = AppliedOverrides({}, [])
    for expr in overrides:
        problem = _apply_one(doc, expr, applied.paths)
        if problem is not None:
            applied.issues.append(problem)
    return applied


# ---------------------------------------------------------------------------- the pipeline


def _load_text(text: str, filename: str, overrides: Sequence[str]) -> Scenario:
    doc, issues = _parse_yaml(text, filename, document=True)
    if issues:
        raise ScenarioError(issues)
    applied = apply_overrides(doc, overrides)
    locator = _Locator(doc, filename, applied.paths)
    try:
        scenario = Scenario.model_validate(_plain(doc, {}))
    except ValidationError as exc:
        raise ScenarioError(applied.issues + locator.issues(_validation_findings(exc))) from None
    issues = applied.issues + locator.issues(_reference_findings(scenario))
    if issues:
        raise ScenarioError(issues)
    return scenario


def _read_bytes(file: str) -> bytes:
    try:
        return Path(file).read_bytes()
    except FileNotFoundError:
        message = "file not found"
    except IsADirectoryError:
        message = "is a directory, not a scenario file"
    except PermissionError:
        message = "cannot read the file: permission denied"
    except (OSError, ValueError) as exc:
        message = f"cannot read the file: {getattr(exc, 'strerror', None) or exc}"
    raise ScenarioError([Issue((), message, file)])


def _decode(data: bytes, file: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ScenarioError([Issue((), "the file is UTF-16 text; save it as UTF-8", file, 1, 1)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = exc.start
        line_start = data.rfind(b"\n", 0, bad) + 1
        line = data.count(b"\n", 0, bad) + 1
        col = len(data[line_start:bad].decode("utf-8", errors="replace")) + 1
        message = (
            f"not UTF-8 text: byte 0x{data[bad]:02x} cannot be decoded; save the file as UTF-8"
        )
        if b"\x00" in data[:4096]:
            message += " (this looks like a binary file, not a scenario)"
        raise ScenarioError([Issue((), message, file, line, col)]) from None


def _top_level_issue(node: Node | None, file: str) -> Issue | None:
    """Issue when a document is not a mapping (empty, a list or a single value)."""
    if node is None:
        message = f"the file holds no scenario; a scenario needs at least: {_REQUIRED}"
        return Issue((), message, file, 1, 1)
    if isinstance(node, MappingNode):
        return None
    got = "a list" if isinstance(node, SequenceNode) else f"the text {_show(str(node.value))}"
    message = (
        "expected a mapping of sections (name: ..., start: ..., coins: ...) at the top level, "
        f"got {got}"
    )
    return _node_issue(node, (), message, file)


# ---------------------------------------------------------------------------- YAML


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that keeps an impossible date (``2021-13-01``) as its text.

    The plain constructor raises a bare ``ValueError`` without a position; as text the value
    reaches validation, which names the field and says what a date looks like.
    """

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except (ValueError, OverflowError):
            return str(node.value)


_Constructor.add_constructor(_TAG + "timestamp", _Constructor.construct_yaml_timestamp)


def _new_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    return yaml


def _parse_yaml(text: str, file: str, *, document: bool = False) -> tuple[Any, list[Issue]]:
    """YAML text → round-trip data, or the issues that prevent reading it.

    With ``document``, the data must be a mapping (a scenario), not empty, a list or a value.
    """
    if _too_deep(text):
        message = f"the document is nested too deeply (over {_MAX_FLOW_DEPTH} levels of [ or {{)"
        return None, [Issue((), message, file, 1, 1)]
    try:
        yaml = _new_yaml()
        node = yaml.compose(text)
        top = _top_level_issue(node, file) if document else None
        if top is not None:
            return None, [top]
        issues = _check_nodes(node, yaml, file) if node is not None else []
        if issues:
            return None, issues
        return (yaml.constructor.construct_document(node) if node is not None else None), []
    except MarkedYAMLError as exc:
        return None, [_marked_issue(exc, file)]
    except ReaderError as exc:
        return None, [_reader_issue(exc, text, file)]
    except YAMLError as exc:
        return None, [Issue((), f"invalid YAML: {exc}", file, 1, 1)]


def _too_deep(text: str) -> bool:
    """Whether brackets nest too deeply: ruamel's scanner is quadratic in flow depth.

    Brackets inside quoted text count too; no sensible scenario comes near the limit.
    """
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > _MAX_FLOW_DEPTH:
            return True
    return False


def _marked_issue(exc: MarkedYAMLError, file: str) -> Issue:
    mark = exc.problem_mark or exc.context_mark
    message = f"invalid YAML: {exc.problem or exc.context}"
    if exc.context and exc.problem and exc.context_mark is not None:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    if mark is None:
        return Issue((), message, file, 1, 1)
    return Issue((), message, file, mark.line + 1, mark.column + 1)


def _reader_issue(exc: ReaderError, text: str, file: str) -> Issue:
    pos = max(0, min(int(exc.position), len(text)))
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    message = f"character U+{ord(char):04X} is not allowed in a YAML file (is this a binary file?)"
    return Issue((), message, file, line, col)


def _check_nodes(root: Node, yaml: YAML, file: str) -> list[Issue]:
    """Refuse tags other than YAML's plain ones and duplicate keys; report all of them."""
    issues: list[Issue] = []
    seen: set[int] = set()
    stack: list[tuple[Node, FieldPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        problem = _tag_problem(node, yaml)
        if problem:
            issues.append(_node_issue(node, path, problem, file))
        if isinstance(node, MappingNode):
            issues.extend(_duplicate_keys(node, path, file))
            for key, value in reversed(node.value):
                key_path = (*path, _key_name(key))
                stack.extend([(value, key_path), (key, key_path)])
        elif isinstance(node, SequenceNode):
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(node.value))))
    if not issues and _expanded_size(root, {}) > _MAX_EXPANDED_NODES:
        message = "aliases expand this document to over a million values; write it out plainly"
        issues.append(Issue((), message, file, 1, 1))
    return sorted(issues, key=lambda i: (i.line or 0, i.col or 0))


def _tag_problem(node: Node, yaml: YAML) -> str:
    tag = str(node.tag)
    if isinstance(node, ScalarNode):
        implicit = (
            str(yaml.resolver.resolve(ScalarNode, node.value, (True, False)))
            if node.style is None
            else _TAG + "str"
        )
        allowed = {implicit, _TAG + "str"}
    else:
        allowed = set(_COLLECTION_TAGS)
    if tag in allowed:
        return ""
    shown = "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
    return (
        f"YAML tag '{shown}' is not allowed: a scenario holds plain values only "
        "(text, numbers, dates, lists and mappings)"
    )


def _duplicate_keys(node: MappingNode, path: FieldPath, file: str) -> Iterator[Issue]:
    first_line: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or str(key.tag) == _TAG + "merge":
            continue
        ident = (str(key.tag), str(key.value))
        if ident in first_line:
            message = (
                f"duplicate key {_show(str(key.value))} (first on line {first_line[ident]}); "
                "a key may appear once in a mapping"
            )
            yield _node_issue(key, (*path, _key_name(key)), message, file)
        else:
            first_line[ident] = key.start_mark.line + 1


def _node_issue(node: Node, path: FieldPath, message: str, file: str) -> Issue:
    return Issue(path, message, file, node.start_mark.line + 1, node.start_mark.column + 1)


def _key_name(key: Node) -> str:
    return str(key.value) if isinstance(key, ScalarNode) else "?"


def _expanded_size(node: Node, memo: dict[int, int]) -> int:
    """Number of nodes once aliases are expanded (memoised: linear in the composed graph)."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a node met again while inside itself counts once
    if isinstance(node, MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, SequenceNode):
        size = 1 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


def _plain(value: Any, memo: dict[int, Any]) -> Any:
    """Round-trip document → plain dicts, lists, str, int, float, bool, dates and None."""
    if isinstance(value, dict | list):
        if id(value) in memo:
            return memo[id(value)]
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            memo[id(value)] = out
            out.update((_plain(k, memo), _plain(v, memo)) for k, v in value.items())
            return out
        items: list[Any] = []
        memo[id(value)] = items
        items.extend(_plain(v, memo) for v in value)
        return items
    return _plain_scalar(value)


def _plain_scalar(value: Any) -> Any:
    if isinstance(value, TaggedScalar):  # only `!!str` gets this far
        return str(value.value)
    if isinstance(value, ScalarBoolean):  # an anchored true/false: an int subclass
        return bool(value)
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, dt.datetime):
        return dt.datetime(*value.timetuple()[:6], value.microsecond, tzinfo=value.tzinfo)
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return value


# ---------------------------------------------------------------------------- positions


@dataclass(frozen=True)
class _Finding:
    """A problem at a field path; ``at_key`` points at the mapping key instead of its value.

    ``meant`` is the field an unknown key is probably a misspelling of; ``missing`` marks a
    required field that is absent.
    """

    path: FieldPath
    message: str
    at_key: bool = False
    meant: str | None = None
    missing: bool = False


class _Locator:
    """Turns findings into issues: a file position, or the ``--set`` that wrote the value."""

    def __init__(self, doc: CommentedMap, file: str, overridden: dict[FieldPath, str]) -> None:
        self.doc, self.file, self.overridden = doc, file, overridden

    def issues(self, findings: Iterable[_Finding]) -> list[Issue]:
        issues = [self.issue(f) for f in findings]
        return sorted(issues, key=lambda i: (i.line is None, i.line or 0, i.col or 0))

    def issue(self, finding: _Finding) -> Issue:
        expr = self.override_for(finding.path)
        if expr is not None:
            return Issue(finding.path, finding.message, f"{SET_FILE} {expr}")
        line, col = _locate(self.doc, finding.path, at_key=finding.at_key)
        return Issue(finding.path, finding.message, self.file, line, col)

    def override_for(self, path: FieldPath) -> str | None:
        """The override that wrote ``path`` or a part of it (the latest one wins)."""
        for written, expr in reversed(self.overridden.items()):
            if path[: len(written)] == written:
                return expr
        for written, expr in reversed(self.overridden.items()):
            if path and written[: len(path)] == path:
                return expr
        return None


def _locate(doc: Any, path: FieldPath, *, at_key: bool = False) -> tuple[int, int]:
    """1-based (line, column) of the deepest node of ``path`` present in ``doc``.

    A value that is a scalar is pointed at itself, a mapping or list at the key or list item
    that introduces it, and a missing field at the mapping that lacks it.
    """
    position, node = _own_position(doc), doc
    for depth, elem in enumerate(path):
        last = depth == len(path) - 1
        step = _step_position(node, elem, at_key=at_key and last)
        if step is None:
            break
        position, node = step
    return position[0] + 1, position[1] + 1


def _step_position(
    node: Any, elem: str | int, *, at_key: bool
) -> tuple[tuple[int, int], Any] | None:
    try:
        if isinstance(node, CommentedMap):
            key = _find_key(node, elem)
            if key is _MISSING:
                return None
            child = node[key]
            scalar = not isinstance(child, dict | list)
            pos = node.lc.value(key) if scalar and not at_key else node.lc.key(key)
        elif isinstance(node, CommentedSeq) and isinstance(elem, int) and 0 <= elem < len(node):
            child, pos = node[elem], node.lc.item(elem)
        else:
            return None
    except (KeyError, TypeError, IndexError, AttributeError):
        return None  # a value put in by --set or a merge key has no position
    if pos is None or pos[0] is None:
        return None
    return (int(pos[0]), int(pos[1])), child


_MISSING = object()


def _find_key(mapping: CommentedMap, elem: str | int) -> Any:
    try:
        if elem in mapping:
            return elem
    except TypeError:
        pass
    return next((k for k in mapping if str(k) == str(elem)), _MISSING)


def _own_position(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    line, col = getattr(lc, "line", None), getattr(lc, "col", None)
    return (line, col) if isinstance(line, int) and isinstance(col, int) else (0, 0)


# ---------------------------------------------------------------------------- pydantic errors


@dataclass(frozen=True)
class _Loc:
    """A pydantic ``loc`` resolved against the model types.

    ``path`` is ``loc`` without union tags; ``owner`` the model holding the last field;
    ``annotation`` the type expected at ``path`` (None when unknown); ``branch`` and
    ``union_path`` the member and position of a plain (non-discriminated) union the error is in.
    """

    path: FieldPath
    owner: type[BaseModel] | None
    annotation: Any
    branch: Any = None
    union_path: FieldPath | None = None
    in_key: bool = False


def _validation_findings(exc: ValidationError) -> list[_Finding]:
    located = [(_resolve(tuple(err["loc"])), err) for err in exc.errors(include_url=False)]
    findings: list[_Finding] = []
    for union_path, group in _by_union(located):
        if union_path is None:
            findings.extend(_finding(loc, err) for loc, err in group)
        else:
            findings.extend(_union_findings(union_path, group))
    return _without_misspelt_missing(findings)


def _without_misspelt_missing(findings: list[_Finding]) -> list[_Finding]:
    """Drop "missing field 'x'" where an unknown key beside it already says "did you mean 'x'"."""
    meant = {(*f.path[:-1], f.meant) for f in findings if f.meant is not None}
    return [f for f in findings if not (f.missing and f.path in meant)]


def _by_union(
    located: list[tuple[_Loc, Any]],
) -> Iterator[tuple[FieldPath | None, list[tuple[_Loc, Any]]]]:
    groups: dict[FieldPath, list[tuple[_Loc, Any]]] = {}
    for loc, err in located:
        if loc.union_path is None:
            yield None, [(loc, err)]
        else:
            groups.setdefault(loc.union_path, []).append((loc, err))
    yield from groups.items()


def _union_findings(union_path: FieldPath, group: list[tuple[_Loc, Any]]) -> list[_Finding]:
    """Errors of the union's branches: those of the branch the value fits, or one summary."""
    fitting = [
        (loc, err)
        for loc, err in group
        if not (loc.path == union_path and str(err["type"]).endswith("_type"))
    ]
    if fitting:
        return [_finding(loc, err) for loc, err in fitting]
    loc, err = group[0]
    kinds = " or ".join(dict.fromkeys(_describe(member.branch) for member, _ in group))
    message = f"expected {kinds}, got {_show(err.get('input'))}"
    return [_Finding(union_path, message + _field_help(loc.owner, union_path))]


def _finding(loc: _Loc, err: Any) -> _Finding:
    kind = str(err["type"])
    if kind == "union_tag_invalid":
        return _tag_invalid(loc, err)
    if kind == "union_tag_not_found":
        return _tag_missing(loc, err)
    at_key = loc.in_key or kind in ("extra_forbidden", "invalid_key")
    meant = None
    if kind == "extra_forbidden" and loc.owner is not None and loc.path:
        meant = _closest(loc.path[-1], loc.owner.model_fields)
    return _Finding(loc.path, _message(kind, err, loc), at_key, meant, kind == "missing")


def _resolve(loc: tuple[str | int, ...]) -> _Loc:
    """Walk ``loc`` through the model types, dropping the tags pydantic puts in for unions."""
    tp: Any = Scenario
    owner: type[BaseModel] | None = Scenario
    path: list[str | int] = []
    branch, union_path, in_key = None, None, False
    for elem in loc:
        tp = _strip(tp)
        members = _union_members(tp)
        if members:
            member = _pick_member(members, elem)
            if member is not None:
                if not _discriminator_tags(members):
                    branch, union_path = member, tuple(path)
                tp = member
                continue
        if elem == "[key]":  # the error is in a mapping key
            in_key = True
            continue
        path.append(elem)
        tp, owner = _descend(tp, elem, owner)
    return _Loc(tuple(path), owner, _strip(tp), branch, union_path, in_key)


def _descend(
    tp: Any, elem: str | int, owner: type[BaseModel] | None
) -> tuple[Any, type[BaseModel] | None]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(elem) if isinstance(elem, str) else None
        return (field.annotation if field else None), tp
    origin = typing.get_origin(tp)
    if origin is list:
        return typing.get_args(tp)[0], owner
    if origin is dict:
        return typing.get_args(tp)[1], owner
    return None, owner


def _strip(tp: Any) -> Any:
    """Remove ``Annotated`` and an optional ``None`` from a type."""
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        members = _union_members(tp)
        if members and len(members) == 1:
            tp = members[0]
            continue
        return tp


def _union_members(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [m for m in typing.get_args(tp) if m is not type(None)]
    return []


def _discriminator_tags(members: list[Any]) -> dict[str, Any]:
    """Tag value → member model, for a union of models told apart by a Literal field.

    The discriminator is the Literal-typed field that every member has (``kind``,
    ``distribution``, ``metric``); a member may answer to several tags.
    """
    models = [_strip(m) for m in members]
    if not all(isinstance(m, type) and issubclass(m, BaseModel) for m in models):
        return {}
    literal_fields = [
        [n for n, f in m.model_fields.items() if typing.get_origin(f.annotation) is Literal]
        for m in models
    ]
    common = [n for n in literal_fields[0] if all(n in names for names in literal_fields)]

    def tags_of(name: str) -> list[tuple[Any, ...]]:
        return [typing.get_args(m.model_fields[name].annotation) for m in models]

    # The discriminator tells members apart: a Literal shared with the same values by every
    # member (such as a check's `tier`) does not.
    telling = [n for n in common if len(models) == 1 or len(set(tags_of(n))) > 1]
    if not telling:
        return {}
    return {str(tag): model for model, tags in zip(models, tags_of(telling[0]), strict=True)
            for tag in tags}


def _pick_member(members: list[Any], elem: str | int) -> Any:
    if not isinstance(elem, str):
        return None
    tags = _discriminator_tags(members)
    if tags:
        return tags.get(elem)
    for member in members:
        base = typing.get_origin(_strip(member)) or _strip(member)
        name = getattr(base, "__name__", "")
        if name and elem.removeprefix("constrained-").split("[")[0] == name:
            return member
    return None


def _tag_invalid(loc: _Loc, err: Any) -> _Finding:
    ctx = err.get("ctx") or {}
    field = str(ctx.get("discriminator", "kind")).strip("'")
    tags = list(_discriminator_tags(_union_members(loc.annotation)))
    given = (err.get("input") or {}).get(field) if isinstance(err.get("input"), dict) else None
    if not isinstance(given, str):
        message = f"expected {field} to be one of {_quoted(tags)}, got {_show(given)}"
        return _Finding((*loc.path, field), message)
    message = f"unknown {field} {_show(given)}; expected one of {_quoted(tags)}"
    hint = did_you_mean(given, tags)
    return _Finding((*loc.path, field), message + (f"; {hint}" if hint else ""))


def _tag_missing(loc: _Loc, err: Any) -> _Finding:
    field = str((err.get("ctx") or {}).get("discriminator", "kind")).strip("'")
    tags = list(_discriminator_tags(_union_members(loc.annotation)))
    if not isinstance(err.get("input"), dict):
        message = f"expected a mapping with '{field}: {tags[0] if tags else '...'}', "
        return _Finding(loc.path, message + f"got {_show(err.get('input'))}")
    message = f"missing required field '{field}' (one of {_quoted(tags)})"
    return _Finding((*loc.path, field), message)


# ---------------------------------------------------------------------------- messages


def _message(kind: str, err: Any, loc: _Loc) -> str:
    """A plain message that says what is expected, for one pydantic error."""
    ctx, value = err.get("ctx") or {}, err.get("input")
    got = _show(value)
    special = _special_message(kind, ctx, value, loc)
    if special is not None:
        return special
    bounds = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<",
              "less_than_equal": "≤"}  # fmt: skip
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        return f"expected {_number_kind(loc)} {bounds[kind]} {_number(limit)}, got {got}"
    if kind.startswith("date"):
        return _date_message(kind, ctx, value)
    if kind.startswith(("float_", "int_")) or kind == "finite_number":
        finite = "a finite number" if kind == "finite_number" else _number_kind(loc)
        return f"expected {finite}, got {got}"
    return _TYPE_MESSAGES.get(kind, "").format(got=got, **ctx) or _pydantic_message(err)


_TYPE_MESSAGES = {
    "string_too_short": "must not be empty",
    "string_too_long": "is too long: at most {max_length} characters",
    "string_pattern_mismatch": "must not contain control characters (tabs, line breaks, ...)",
    "bool_type": "expected true or false, got {got}",
    "bool_parsing": "expected true or false, got {got}",
    "dict_type": "expected a mapping (key: value), got {got}",
    "model_type": "expected a mapping of fields (key: value), got {got}",
    "model_attributes_type": "expected a mapping of fields (key: value), got {got}",
    "too_short": "expected at least {min_length} item(s), got {actual_length}",
    "too_long": "expected at most {max_length} item(s), got {actual_length}",
    "recursion_loop": "refers to itself (a recursive YAML alias)",
    "invalid_key": "keys must be text, got {got}",
}


def _special_message(kind: str, ctx: dict[str, Any], value: Any, loc: _Loc) -> str | None:
    field = loc.path[-1] if loc.path else ""
    if kind == "missing":
        return f"missing required field '{field}'" + _field_help(loc.owner, loc.path)
    if kind == "extra_forbidden":
        return _unknown_key(field, loc.owner)
    if kind == "literal_error":
        allowed = list(typing.get_args(loc.annotation))
        hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
        message = f"expected one of {_quoted(allowed)}, got {_show(value)}"
        return message + (f"; {hint}" if hint else "")
    if kind == "string_type":
        quotable = isinstance(value, int | float | dt.date)  # bool is an int
        quote = f" (quote it: '{_show(value)}')" if quotable else ""
        return f"expected text, got {_show(value)}{quote}"
    if kind == "list_type":
        simple = isinstance(value, int | float) or (
            isinstance(value, str) and value.isprintable() and 0 < len(value) <= 40
        )
        single = f"; for one item write [{_show(value).strip(chr(39))}]" if simple else ""
        return f"expected a list, got {_show(value)}{single}"
    return None


def _unknown_key(key: object, owner: type[BaseModel] | None) -> str:
    fields = list(owner.model_fields) if owner is not None else []
    hint = did_you_mean(key, fields)
    if hint:
        return f"unknown key {_show(key)}; {hint}"
    if fields:
        return f"unknown key {_show(key)}; expected one of: {', '.join(fields)}"
    return f"unknown key {_show(key)}"


def _date_message(kind: str, ctx: dict[str, Any], value: Any) -> str:
    if kind == "date_from_datetime_inexact" and isinstance(value, dt.datetime):
        return f"expected a date YYYY-MM-DD without a time of day, got {_show(value)}"
    detail = f" ({ctx['error']})" if "error" in ctx else ""
    return f"expected a date YYYY-MM-DD, got {_show(value)}{detail}"


def _pydantic_message(err: Any) -> str:
    message = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _field_help(owner: type[BaseModel] | None, path: FieldPath) -> str:
    field = (
        owner.model_fields.get(path[-1]) if owner and path and isinstance(path[-1], str) else None
    )
    if field is None or not field.description:
        return ""
    if field.description == _NAME_HELP and path[-1] != "name":
        return ""  # the help of the `Name` type, not of this field
    return f" ({field.description})"


def _number_kind(loc: _Loc) -> str:
    return "a whole number" if loc.annotation is int else "a number"


def _describe(tp: Any) -> str:
    base = typing.get_origin(_strip(tp)) or _strip(tp)
    names = {str: "text", int: "a whole number", float: "a number", dict: "a mapping",
             list: "a list", dt.date: "a date"}  # fmt: skip
    return names.get(base, getattr(base, "__name__", "a value"))


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40
_REPR.maxlist, _REPR.maxdict, _REPR.maxlevel = 5, 4, 3


def _show(value: Any) -> str:
    """A value as the user wrote it (YAML spelling), shortened; a big list or mapping by size."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    shown = _REPR.repr(value)
    if isinstance(value, dict | list) and (len(shown) > 40 or "datetime" in shown):
        what = "list" if isinstance(value, list) else "mapping"
        return f"a {what} of {len(value)} item(s)"
    return shown


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _quoted(values: Iterable[object]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# ---------------------------------------------------------------------------- --set


def _apply_one(doc: CommentedMap, expr: str, written: dict[FieldPath, str]) -> Issue | None:
    path_text, sep, value_text = expr.partition("=")
    segments = path_text.strip().split(".")
    if not sep or not all(s.strip() for s in segments):
        message = "expected PATH=VALUE, e.g. --set behaviour.horizon_days=90"
        return Issue((expr,), message, SET_FILE)
    segments = [s.strip() for s in segments]
    value, parse_issues = _parse_yaml(value_text, SET_FILE)
    if parse_issues:
        message = f"cannot read the value {value_text!r}: {parse_issues[0].message}"
        return Issue(tuple(segments), message, SET_FILE)
    node: Any = doc
    resolved: list[str | int] = []
    for depth, segment in enumerate(segments):
        last = depth == len(segments) - 1
        step = _override_step(node, segment, resolved, create=not last)
        if isinstance(step, str):
            return Issue(tuple(segments), step, SET_FILE)
        key, created = step
        resolved.append(key)
        if created:
            written[tuple(resolved)] = expr
        if last:
            node[key] = value
        else:
            node = node[key]
    written[tuple(resolved)] = expr
    return None


def _override_step(
    node: Any, segment: str, where: list[str | int], *, create: bool
) -> tuple[str | int, bool] | str:
    """The key or index ``segment`` names in ``node`` and whether it was created; or an error."""
    place = ".".join(str(w) for w in where) or "the document"
    if isinstance(node, dict):
        if segment not in node and create:
            node[segment] = CommentedMap()
            return segment, True
        return segment, False
    if isinstance(node, list):
        return _list_step(node, segment, place)
    return f"'{place}' is a single value ({_show(node)}), it has no '{segment}' inside"


def _list_step(items: list[Any], segment: str, place: str) -> tuple[int, bool] | str:
    if segment.isdigit():
        index = int(segment)
        if index < len(items):
            return index, False
        return f"index {index} is out of range: '{place}' has {len(items)} item(s)"
    names = [_item_name(item) for item in items]
    if segment in names:
        return names.index(segment), False
    hint = did_you_mean(segment, [n for n in names if n is not None])
    known = hint or f"give an index 0..{len(items) - 1} or one of: {_quoted(n for n in names if n)}"
    return f"no item named '{segment}' in '{place}'; {known}"


def _item_name(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in ("name", "id"):
            if item.get(key) is not None:
                return str(item[key])
    return None


# ---------------------------------------------------------------------------- references


_SECTIONS = {"coins": "coin", "regions": "region", "hardware": "hardware model",
             "pools": "pool", "facilities": "facility", "services": "service"}  # fmt: skip
_PLURAL = {"region": "regions", "coin": "coins", "hardware": "hardware models",
           "pool": "pools", "facility": "facilities"}  # fmt: skip


class _Tree:
    """The region tree: parents, children and descendants by name (first of duplicates)."""

    def __init__(self, scenario: Scenario) -> None:
        self.parent: dict[str, str | None] = {}
        for region in scenario.regions:
            self.parent.setdefault(region.name, region.parent)
        self.children: dict[str, list[str]] = defaultdict(list)
        for name, parent in self.parent.items():
            if parent in self.parent and parent != name:
                self.children[parent].append(name)

    def subtree(self, name: str) -> set[str]:
        """``name`` and every region below it (cycle-safe)."""
        found, todo = {name}, [name]
        while todo:
            for child in self.children.get(todo.pop(), []):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found


def _reference_findings(scenario: Scenario) -> list[_Finding]:
    tree = _Tree(scenario)
    findings: list[_Finding] = []
    findings += _duplicates(scenario)
    findings += _unknown_names(scenario)
    findings += _parent_cycles(scenario, tree)
    names_resolve = not findings
    findings += _rigs_in_parents(scenario, tree)
    findings += _coin_mismatches(scenario)
    findings += _facility_regions(scenario)
    findings += _date_order(scenario)
    findings += _lifts(scenario)
    findings += _capacity(scenario)
    if names_resolve:  # with a name wrong, the route graph would only echo it
        findings += _routes(scenario, tree)
    return findings


def _duplicates(scenario: Scenario) -> Iterator[_Finding]:
    for section, what in _SECTIONS.items():
        first: dict[str, int] = {}
        for i, item in enumerate(getattr(scenario, section)):
            if item.name in first:
                message = f"duplicate {what} name '{item.name}' (also {section}.{first[item.name]})"
                yield _Finding((section, i, "name"), message + "; names must be unique")
            first.setdefault(item.name, i)
    ids: dict[str, int] = {}
    for i, policy in enumerate(scenario.policies):
        if policy.id is not None and policy.id in ids:
            message = f"duplicate policy id '{policy.id}' (also policies.{ids[policy.id]})"
            yield _Finding(("policies", i, "id"), message + "; ids must be unique")
        if policy.id is not None:
            ids.setdefault(policy.id, i)


def _unknown_names(scenario: Scenario) -> Iterator[_Finding]:
    known = {
        "region": [r.name for r in scenario.regions],
        "coin": [c.name for c in scenario.coins],
        "hardware": [h.name for h in scenario.hardware],
        "pool": [p.name for p in scenario.pools],
        "facility": [f.name for f in scenario.facilities],
    }
    for kind, path, name, at_key in _references(scenario):
        if name not in known[kind]:
            yield _Finding(path, _unknown_message(kind, name, known[kind]), at_key)


def _unknown_message(kind: str, name: str, names: list[str]) -> str:
    message = f"unknown {kind} '{name}'"
    hint = did_you_mean(name, names)
    if hint:
        return f"{message}; {hint}"
    if not names:
        return f"{message}; there are no {_PLURAL[kind]}: add it under '{_PLURAL[kind]}:'"
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"{message}; known {_PLURAL[kind]}: {shown}"


def _references(scenario: Scenario) -> Iterator[tuple[str, FieldPath, str, bool]]:
    """Every (kind, path, name, at_key) where a section names a region, coin, pool, ..."""
    for i, region in enumerate(scenario.regions):
        if region.parent is not None:
            yield "region", ("regions", i, "parent"), region.parent, False
    for i, route in enumerate(scenario.routes):
        yield "region", ("routes", i, "origin"), route.origin, False
        yield "region", ("routes", i, "destination"), route.destination, False
    for i, hw in enumerate(scenario.hardware):
        yield "coin", ("hardware", i, "coin"), hw.coin, False
    yield from _rig_references(scenario)
    yield from _pool_references(scenario)
    for i, service in enumerate(scenario.services):
        for k, name in enumerate(service.regions):
            yield "region", ("services", i, "regions", k), name, False
    yield from _policy_references(scenario)
    for k, name in enumerate(scenario.behaviour.destinations or []):
        yield "region", ("behaviour", "destinations", k), name, False
    yield from _observed_references(scenario)


def _rig_references(scenario: Scenario) -> Iterator[tuple[str, FieldPath, str, bool]]:
    for section in ("fleet", "purchases"):
        for i, entry in enumerate(getattr(scenario, section)):
            yield "region", (section, i, "region"), entry.region, False
            yield "hardware", (section, i, "hardware"), entry.hardware, False
            for path, pool, at_key in _pool_names((section, i, "pool"), entry.pool):
                yield "pool", path, pool, at_key
            facility = getattr(entry, "facility", None)
            if facility is not None:
                yield "facility", (section, i, "facility"), facility, False
    for i, facility in enumerate(scenario.facilities):
        yield "region", ("facilities", i, "region"), facility.region, False
        for k, order in enumerate(facility.orders):
            yield "hardware", ("facilities", i, "orders", k, "hardware"), order.hardware, False
            yield "pool", ("facilities", i, "orders", k, "pool"), order.pool, False


def _pool_references(scenario: Scenario) -> Iterator[tuple[str, FieldPath, str, bool]]:
    for i, pool in enumerate(scenario.pools):
        yield "coin", ("pools", i, "coin"), pool.coin, False
        if pool.home_region is not None:
            yield "region", ("pools", i, "home_region"), pool.home_region, False
        for k, name in enumerate(pool.regions or []):
            yield "region", ("pools", i, "regions", k), name, False
        for e, event in enumerate(pool.events):
            for k, name in enumerate(getattr(event, "regions", None) or []):
                yield "region", ("pools", i, "events", e, "regions", k), name, False


def _policy_references(scenario: Scenario) -> Iterator[tuple[str, FieldPath, str, bool]]:
    for i, policy in enumerate(scenario.policies):
        if isinstance(policy, RegionalPolicy):
            yield "region", ("policies", i, "region"), policy.region, False
        if isinstance(policy, PoolServiceBan):
            for k, name in enumerate(policy.pools or []):
                yield "pool", ("policies", i, "pools", k), name, False


def _observed_references(scenario: Scenario) -> Iterator[tuple[str, FieldPath, str, bool]]:
    observed = getattr(scenario, "observed", None)
    if observed is None:
        return
    yield "coin", ("observed", "coin"), observed.coin, False
    shares = {"region_share": "region", "pool_share": "pool"}
    for k, check in enumerate(observed.checks):
        kind = shares.get(getattr(check, "metric", ""))
        if kind is not None:
            yield kind, ("observed", "checks", k, "name"), check.name, False


def _pool_names(
    path: FieldPath, pool: str | dict[str, float]
) -> Iterator[tuple[FieldPath, str, bool]]:
    if isinstance(pool, str):
        yield path, pool, False
    else:
        for name in pool:
            yield (*path, name), name, True


def _parent_cycles(scenario: Scenario, tree: _Tree) -> Iterator[_Finding]:
    reported: set[frozenset[str]] = set()
    for i, region in enumerate(scenario.regions):
        chain = [region.name]
        while (parent := tree.parent.get(chain[-1])) is not None and parent in tree.parent:
            if parent in chain:
                loop = chain[chain.index(parent) :]
                if region.name in loop and frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    shown = " → ".join([*loop, parent])
                    message = f"the parent chain loops: {shown}; a region cannot contain itself"
                    yield _Finding(("regions", i, "parent"), message)
                break
            chain.append(parent)


def _rigs_in_parents(scenario: Scenario, tree: _Tree) -> Iterator[_Finding]:
    for section in ("fleet", "purchases", "facilities"):
        for i, item in enumerate(getattr(scenario, section)):
            children = tree.children.get(item.region)
            if children:
                message = (
                    f"region '{item.region}' contains other regions ({', '.join(children)}); "
                    "rigs go in a region without sub-regions: pick one of those"
                )
                yield _Finding((section, i, "region"), message)


def _coin_mismatches(scenario: Scenario) -> Iterator[_Finding]:
    hw_coin = {h.name: h.coin for h in reversed(scenario.hardware)}
    pool_coin = {p.name: p.coin for p in reversed(scenario.pools)}
    rows: list[tuple[FieldPath, str, str | dict[str, float]]] = [
        *((("fleet", i), e.hardware, e.pool) for i, e in enumerate(scenario.fleet)),
        *((("purchases", i), p.hardware, p.pool) for i, p in enumerate(scenario.purchases)),
    ]
    for j, facility in enumerate(scenario.facilities):
        rows += [(("facilities", j, "orders", k), o.hardware, o.pool)
                 for k, o in enumerate(facility.orders)]  # fmt: skip
    for row, hardware, pools in rows:
        coin = hw_coin.get(hardware)
        for path, pool, at_key in _pool_names((*row, "pool"), pools):
            if coin is not None and pool_coin.get(pool, coin) != coin:
                message = (
                    f"pool '{pool}' mines '{pool_coin[pool]}' but hardware '{hardware}' mines "
                    f"'{coin}'; pick a pool that mines '{coin}'"
                )
                yield _Finding(path, message, at_key)


def _facility_regions(scenario: Scenario) -> Iterator[_Finding]:
    region_of = {f.name: f.region for f in reversed(scenario.facilities)}
    for i, entry in enumerate(scenario.fleet):
        where = region_of.get(entry.facility) if entry.facility is not None else None
        if where is not None and where != entry.region:
            message = (
                f"facility '{entry.facility}' is in region '{where}', not in '{entry.region}' "
                f"like this fleet entry; set region: {where} or pick a facility in "
                f"'{entry.region}'"
            )
            yield _Finding(("fleet", i, "facility"), message)


def _date_order(scenario: Scenario) -> Iterator[_Finding]:
    for i, pool in enumerate(scenario.pools):
        for k in range(1, len(pool.events)):
            date, previous = pool.events[k].date, pool.events[k - 1].date
            if date < previous:
                message = (
                    f"pool events must be in date order: {date} is before the previous "
                    f"event ({previous})"
                )
                yield _Finding(("pools", i, "events", k, "date"), message)
    for i, purchase in enumerate(scenario.purchases):
        if purchase.start > scenario.end:
            message = (
                f"the purchase starts on {purchase.start}, after the scenario ends "
                f"({scenario.end}); start it by {scenario.end} or remove it"
            )
            yield _Finding(("purchases", i, "start"), message)


def _lifts(scenario: Scenario) -> Iterator[_Finding]:
    by_id = {}
    for policy in reversed(scenario.policies):
        if policy.id is not None:
            by_id[policy.id] = policy
    for i, lift in enumerate(scenario.policies):
        if not isinstance(lift, Lift):
            continue
        target = by_id.get(lift.policy)
        if target is None:
            hint = did_you_mean(lift.policy, by_id) or (
                f"known ids: {', '.join(by_id)}" if by_id else "give the policy an 'id:'"
            )
            message = f"no policy has the id '{lift.policy}'; {hint}"
            yield _Finding(("policies", i, "policy"), message)
        elif isinstance(target, Lift):
            message = f"policy '{lift.policy}' is itself a lift; a lift ends a policy"
            yield _Finding(("policies", i, "policy"), message)
        elif lift.date < target.date:
            message = (
                f"the lift ({lift.date}) is dated before the policy '{lift.policy}' it ends "
                f"({target.date}); a lift must be on or after it"
            )
            yield _Finding(("policies", i, "date"), message)


def _capacity(scenario: Scenario) -> Iterator[_Finding]:
    """Initial fleet power against region capacity, or the facility's first step."""
    power_w = {h.name: h.power_w for h in reversed(scenario.hardware)}
    drawn_mw: dict[tuple[str, str], float] = defaultdict(float)
    rows: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, entry in enumerate(scenario.fleet):
        if entry.hardware in power_w:
            where = ("facility", entry.facility) if entry.facility else ("region", entry.region)
            drawn_mw[where] += entry.rigs * power_w[entry.hardware] / 1e6
            rows[where].append(i)
    limits: list[tuple[tuple[str, str], float | None, FieldPath, str]] = [
        (("region", r.name), r.capacity_mw, ("regions", i, "capacity_mw"), "capacity_mw")
        for i, r in enumerate(scenario.regions)
    ]
    limits += [(("facility", f.name), f.capacity[0].mw, ("facilities", j, "capacity", 0, "mw"),
                "the first capacity step") for j, f in enumerate(scenario.facilities)]  # fmt: skip
    checked: set[tuple[str, str]] = set()
    for where, limit, path, what in limits:
        if limit is None or where in checked or drawn_mw[where] <= limit * (1 + 1e-9):
            continue
        checked.add(where)
        entries = ", ".join(f"fleet.{i}" for i in rows[where])
        message = (
            f"the initial fleet here draws {drawn_mw[where]:.6g} MW ({entries}), more than "
            f"{what} ({_number(limit)} MW); raise the capacity or move rigs"
        )
        yield _Finding(path, message)


def _route_graph(scenario: Scenario, tree: _Tree) -> nx.DiGraph:
    """Directed graph of regions; a route from or to a region covers its whole subtree."""
    graph = nx.DiGraph()
    graph.add_nodes_from(tree.parent)
    for route in scenario.routes:
        if route.origin not in tree.parent or route.destination not in tree.parent:
            continue
        for u in tree.subtree(route.origin):
            for v in tree.subtree(route.destination):
                if u != v:
                    graph.add_edge(u, v)
                    if route.bidirectional:
                        graph.add_edge(v, u)
    return graph


def _routes(scenario: Scenario, tree: _Tree) -> Iterator[_Finding]:
    graph = _route_graph(scenario, tree)
    sources = sorted({e.region for e in scenario.fleet if e.region in tree.parent})
    reachable: set[str] = set()
    for source in sources:
        reachable |= nx.descendants(graph, source)
    for k, name in enumerate(scenario.behaviour.destinations or []):
        if name in tree.parent and not tree.subtree(name) & reachable:
            message = (
                f"destination '{name}' cannot be reached from any region holding rigs "
                f"({', '.join(sources)}): add a route to '{name}' (or a parent of it) from one "
                "of them (or a parent)"
            )
            yield _Finding(("behaviour", "destinations", k), message)
    stuck: set[str] = set()
    for i, policy in enumerate(scenario.policies):
        if not isinstance(policy, MiningBan | PowerCutoff) or policy.region not in tree.parent:
            continue
        for region in sorted(tree.subtree(policy.region) & set(sources) - stuck):
            if graph.out_degree(region) == 0:
                stuck.add(region)
                message = (
                    f"rigs in '{region}' have nowhere to go: add a route from '{region}' "
                    "(or a parent) to a destination"
                )
                yield _Finding(("policies", i, "region"), message)
