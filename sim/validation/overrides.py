"""``--set PATH=VALUE``: parse the expressions and apply them to a round-trip document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ruamel.yaml.comments import CommentedMap

from sim.errors import Issue
from sim.validation.common import SET_FILE, FieldPath, did_you_mean, quoted, show
from sim.validation.reading import parse_yaml


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


def _apply_one(doc: CommentedMap, expr: str, written: dict[FieldPath, str]) -> Issue | None:
    path_text, sep, value_text = expr.partition("=")
    segments = path_text.strip().split(".")
    if not sep or not all(s.strip() for s in segments):
        message = "expected PATH=VALUE, e.g. behaviour.horizon_days=90"
        return Issue((expr,), message, SET_FILE)
    segments = [s.strip() for s in segments]
    value, parse_issues = parse_yaml(value_text, SET_FILE)
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
    return f"'{place}' is a single value ({show(node)}), it has no '{segment}' inside"


def list_index(items: Sequence[Any], segment: str) -> int | None:
    """The item of a list that a path segment names, as ``--set`` reads it: an index, else an
    item's name (its id where it has no name); None where none is named so. Items are mappings
    or objects with those attributes (loaded models)."""
    if segment.isdigit():
        return int(segment) if int(segment) < len(items) else None
    names = [_item_name(item) for item in items]
    return names.index(segment) if segment in names else None


def _list_step(items: list[Any], segment: str, place: str) -> tuple[int, bool] | str:
    index = list_index(items, segment)
    if index is not None:
        return index, False
    if segment.isdigit():
        return f"index {segment} is out of range: '{place}' has {len(items)} item(s)"
    names = [_item_name(item) for item in items]
    hint = did_you_mean(segment, [n for n in names if n is not None])
    named = [n for n in names if n is not None]
    known = hint or (f"give an index 0..{len(items) - 1}"
                     + (f" or one of: {quoted(named)}" if named else " (its items have no names)"))
    return f"no item named '{segment}' in '{place}'; {known}"


def _item_name(item: Any) -> str | None:
    for key in ("name", "id"):
        value = item.get(key) if isinstance(item, dict) else getattr(item, key, None)
        if value is not None:
            return str(value)
    return None
