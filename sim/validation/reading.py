"""Bytes → text → a round-trip YAML document, refusing what a scenario must not hold.

Files are read as UTF-8 (a BOM is allowed, UTF-16 is refused); YAML is composed first so that
tags other than the plain ones, duplicate keys, brackets nested too deeply and alias bombs are
reported with their positions before anything is constructed. :func:`plain` turns the
round-trip document into the plain values pydantic validates.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import TaggedScalar
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from sim.errors import Issue, ScenarioError
from sim.scenario import Scenario
from sim.validation.common import FieldPath, show

_TAG = "tag:yaml.org,2002:"
_COLLECTION_TAGS = frozenset({_TAG + "map", _TAG + "seq"})
_MAX_FLOW_DEPTH = 100  # nested [ ] and { }; a scenario needs fewer than 10
_BRACKETS = re.compile(r"[\[\]{}]")
_MAX_EXPANDED_NODES = 1_000_000  # aliases may repeat a node; more than this is an alias bomb
_REQUIRED = ", ".join(n for n, f in Scenario.model_fields.items() if f.is_required())


# ---------------------------------------------------------------------------- files


def read_bytes(file: str) -> bytes:
    try:
        return Path(file).read_bytes()
    except FileNotFoundError:
        message = "file not found" + _bundled_hint(file)
    except IsADirectoryError:
        message = "is a directory, not a scenario file"
    except PermissionError:
        message = "cannot read the file: permission denied"
    except (OSError, ValueError) as exc:
        message = f"cannot read the file: {getattr(exc, 'strerror', None) or exc}"
    raise ScenarioError([Issue((), message, file)])


def _bundled_hint(name: str) -> str:
    """For a bare name (no folder, no suffix) that no file has: the bundled scenarios, the
    closest first (`hashsim run tutorail`)."""
    import difflib

    from sim.bundled import bundled_scenarios

    if "/" in name or Path(name).suffix:
        return ""
    names = sorted(bundled_scenarios())
    close = difflib.get_close_matches(name, names, n=1)
    return (f", nor a bundled scenario{f' (did you mean {close[0]!r}?)' if close else ''}; "
            f"bundled: {', '.join(names)}")


def decode(data: bytes, file: str) -> str:
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
    got = "a list" if isinstance(node, SequenceNode) else f"the text {show(str(node.value))}"
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


def parse_yaml(text: str, file: str, *, document: bool = False) -> tuple[Any, list[Issue]]:
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
                f"duplicate key {show(str(key.value))} (first on line {first_line[ident]}); "
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


def plain(value: Any, memo: dict[int, Any]) -> Any:
    """Round-trip document → plain dicts, lists, str, int, float, bool, dates and None."""
    if isinstance(value, dict | list):
        if id(value) in memo:
            return memo[id(value)]
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            memo[id(value)] = out
            out.update((plain(k, memo), plain(v, memo)) for k, v in value.items())
            return out
        items: list[Any] = []
        memo[id(value)] = items
        items.extend(plain(v, memo) for v in value)
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
