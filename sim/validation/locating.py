"""Findings → issues: the file position of a field path, or the ``--set`` that wrote it.

Positions come from ruamel's ``lc`` data on the round-trip document: a scalar is pointed at
itself, a mapping or list at the key or item that introduces it, and a missing field at the
mapping that lacks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from sim.errors import Issue
from sim.validation.common import SET_FILE, FieldPath, Finding


class Locator:
    """Turns findings into issues: a file position, or the ``--set`` that wrote the value."""

    def __init__(self, doc: CommentedMap, file: str, overridden: dict[FieldPath, str]) -> None:
        self.doc, self.file, self.overridden = doc, file, overridden

    def issues(self, findings: Iterable[Finding]) -> list[Issue]:
        issues = [self.issue(f) for f in findings]
        return sorted(issues, key=lambda i: (i.line is None, i.line or 0, i.col or 0))

    def issue(self, finding: Finding) -> Issue:
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
