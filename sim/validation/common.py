"""What the stages of reading a scenario share: field paths, findings, and how values are worded.

A :class:`Finding` is a problem at a field path, before it has a position in the file; the
helpers here spell values the way the user wrote them (YAML) and suggest near misses.
"""

from __future__ import annotations

import datetime as dt
import difflib
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

FieldPath = tuple[str | int, ...]
"""A field path in the document: keys and list indices, e.g. ``("fleet", 0, "pool")``."""

SET_FILE = "--set"


@dataclass(frozen=True)
class Finding:
    """A problem at a field path; ``at_key`` points at the mapping key instead of its value.

    ``meant`` is the field an unknown key is probably a misspelling of; ``missing`` marks a
    required field that is absent.
    """

    path: FieldPath
    message: str
    at_key: bool = False
    meant: str | None = None
    missing: bool = False


def did_you_mean(word: object, candidates: Iterable[object]) -> str:
    """Suggest the candidate closest to ``word``.

    Returns
    -------
    str
        ``"did you mean 'x'?"``, or ``""`` when no candidate is close (difflib ratio < 0.6,
        case ignored).
    """
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match is not None else ""


def closest(word: object, candidates: Iterable[object]) -> str | None:
    by_lower = {str(c).lower(): str(c) for c in candidates}
    matches = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40
_REPR.maxlist, _REPR.maxdict, _REPR.maxlevel = 5, 4, 3


def show(value: Any) -> str:
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


def number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def quoted(values: Iterable[object]) -> str:
    return ", ".join(f"'{v}'" for v in values)
