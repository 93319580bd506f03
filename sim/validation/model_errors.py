"""Pydantic errors → findings with plain messages that say what is expected.

A pydantic ``loc`` is walked through the model types: the tags pydantic puts in for unions are
dropped (``policies.2.hazard_per_day``), a discriminated union's tag picks the member, and the
errors of a plain union are reduced to those of the branch the value fits, or one summary.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from sim.scenario import Scenario
from sim.validation.common import (
    FieldPath,
    Finding,
    closest,
    did_you_mean,
    number,
    quoted,
    show,
)

_NAME_HELP = Scenario.model_fields["name"].description


# ---------------------------------------------------------------------------- locs


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


def validation_findings(exc: ValidationError) -> list[Finding]:
    located = [(_resolve(tuple(err["loc"])), err) for err in exc.errors(include_url=False)]
    findings: list[Finding] = []
    for union_path, group in _by_union(located):
        if union_path is None:
            findings.extend(_finding(loc, err) for loc, err in group)
        else:
            findings.extend(_union_findings(union_path, group))
    return _without_misspelt_missing(findings)


def _without_misspelt_missing(findings: list[Finding]) -> list[Finding]:
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


def _union_findings(union_path: FieldPath, group: list[tuple[_Loc, Any]]) -> list[Finding]:
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
    message = f"expected {kinds}, got {show(err.get('input'))}"
    return [Finding(union_path, message + _field_help(loc.owner, union_path))]


def _finding(loc: _Loc, err: Any) -> Finding:
    kind = str(err["type"])
    if kind == "union_tag_invalid":
        return _tag_invalid(loc, err)
    if kind == "union_tag_not_found":
        return _tag_missing(loc, err)
    at_key = loc.in_key or kind in ("extra_forbidden", "invalid_key")
    meant = None
    if kind == "extra_forbidden" and loc.owner is not None and loc.path:
        meant = closest(loc.path[-1], loc.owner.model_fields)
    return Finding(loc.path, _message(kind, err, loc), at_key, meant, kind == "missing")


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


def _tag_invalid(loc: _Loc, err: Any) -> Finding:
    ctx = err.get("ctx") or {}
    field = str(ctx.get("discriminator", "kind")).strip("'")
    tags = list(_discriminator_tags(_union_members(loc.annotation)))
    given = (err.get("input") or {}).get(field) if isinstance(err.get("input"), dict) else None
    if not isinstance(given, str):
        message = f"expected {field} to be one of {quoted(tags)}, got {show(given)}"
        return Finding((*loc.path, field), message)
    message = f"unknown {field} {show(given)}; expected one of {quoted(tags)}"
    hint = did_you_mean(given, tags)
    return Finding((*loc.path, field), message + (f"; {hint}" if hint else ""))


def _tag_missing(loc: _Loc, err: Any) -> Finding:
    field = str((err.get("ctx") or {}).get("discriminator", "kind")).strip("'")
    tags = list(_discriminator_tags(_union_members(loc.annotation)))
    if not isinstance(err.get("input"), dict):
        message = f"expected a mapping with '{field}: {tags[0] if tags else '...'}', "
        return Finding(loc.path, message + f"got {show(err.get('input'))}")
    message = f"missing required field '{field}' (one of {quoted(tags)})"
    return Finding((*loc.path, field), message)


# ---------------------------------------------------------------------------- messages


def _message(kind: str, err: Any, loc: _Loc) -> str:
    """A plain message that says what is expected, for one pydantic error."""
    ctx, value = err.get("ctx") or {}, err.get("input")
    got = show(value)
    special = _special_message(kind, ctx, value, loc)
    if special is not None:
        return special
    bounds = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<",
              "less_than_equal": "≤"}  # fmt: skip
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        return f"expected {_number_kind(loc)} {bounds[kind]} {number(limit)}, got {got}"
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
    if kind == "too_short" and isinstance(value, list) and not value:
        # an empty list where null (leave the field out) would mean "all": say so
        return f"expected at least {ctx.get('min_length', 1)} item(s), got an empty list" + (
            _field_help(loc.owner, loc.path))
    if kind == "literal_error":
        allowed = list(typing.get_args(loc.annotation))
        hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
        message = f"expected one of {quoted(allowed)}, got {show(value)}"
        return message + (f"; {hint}" if hint else "")
    if kind == "string_type":
        quotable = isinstance(value, int | float | dt.date)  # bool is an int
        quote = f" (quote it: '{show(value)}')" if quotable else ""
        return f"expected text, got {show(value)}{quote}"
    if kind == "list_type":
        simple = isinstance(value, int | float) or (
            isinstance(value, str) and value.isprintable() and 0 < len(value) <= 40
        )
        single = f"; for one item write [{show(value).strip(chr(39))}]" if simple else ""
        return f"expected a list, got {show(value)}{single}"
    return None


def _unknown_key(key: object, owner: type[BaseModel] | None) -> str:
    fields = list(owner.model_fields) if owner is not None else []
    hint = did_you_mean(key, fields)
    if hint:
        return f"unknown key {show(key)}; {hint}"
    if fields:
        return f"unknown key {show(key)}; expected one of: {', '.join(fields)}"
    return f"unknown key {show(key)}"


def _date_message(kind: str, ctx: dict[str, Any], value: Any) -> str:
    if kind == "date_from_datetime_inexact" and isinstance(value, dt.datetime):
        return f"expected a date YYYY-MM-DD without a time of day, got {show(value)}"
    detail = f" ({ctx['error']})" if "error" in ctx else ""
    return f"expected a date YYYY-MM-DD, got {show(value)}{detail}"


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
