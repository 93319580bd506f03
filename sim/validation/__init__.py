"""Read a scenario file and report every problem in it by file, line, column and field.

The way in::

    bytes ──UTF-8──▶ text ──compose──▶ YAML nodes (plain tags only, no duplicate keys)
          ──round-trip load──▶ document with positions ──--set──▶ overridden document
          ──pydantic──▶ Scenario ──check_references──▶ names, region tree, capacity, routes

Every problem on the way becomes an :class:`~sim.errors.Issue`; the issues of one stage are
collected and raised together as one :class:`~sim.errors.ScenarioError`. Field paths are those of
pydantic with the union tags taken out (``policies.2.hazard_per_day``); they are turned into
positions through ruamel's ``lc`` data, and into ``--set EXPR`` where an override wrote the value.

The stages, one module each: :mod:`~sim.validation.reading` (bytes to a round-trip document),
:mod:`~sim.validation.overrides` (``--set``), :mod:`~sim.validation.model_errors` (pydantic
errors as findings), :mod:`~sim.validation.references` and :mod:`~sim.validation.regions`
(semantic checks), :mod:`~sim.validation.locating` (findings to file positions). This module runs
them in order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from pydantic import ValidationError

from sim.errors import Issue, ScenarioError
from sim.scenario import Scenario
from sim.validation.common import FieldPath, did_you_mean
from sim.validation.locating import Locator
from sim.validation.model_errors import validation_findings
from sim.validation.overrides import AppliedOverrides, apply_overrides
from sim.validation.reading import decode, parse_yaml, plain, read_bytes
from sim.validation.references import check_references, reference_findings

__all__ = [
    "AppliedOverrides",
    "FieldPath",
    "apply_overrides",
    "check_references",
    "did_you_mean",
    "load",
    "loads",
    "revalidate",
    "schema_json",
]


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
    return loads(decode(read_bytes(file), file), file, overrides)


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


def schema_json() -> str:
    """JSON Schema of :class:`~sim.scenario.Scenario`: indented, keys sorted, newline at the end."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema.update(Scenario.model_json_schema())
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def revalidate(scenario: Scenario) -> Scenario:
    """A fresh, fully checked copy of `scenario`, which may have changed since it was
    loaded: ``model_copy(update=...)`` skips validation, and its lists can be edited in place.
    Raises :class:`ScenarioError` naming the fields (no file positions: it is an object)."""
    return scenario_from(scenario.model_dump(mode="json"), "<Scenario object>")


def scenario_from(doc: object, where: str, prefix: tuple[str | int, ...] = ()) -> Scenario:
    """The scenario of a plain document (a dumped scenario, a run.json's), checked as a file
    is — its fields, then its references — with the same messages. Raises
    :class:`ScenarioError` naming each field (under `prefix`) in `where`, without positions."""
    try:
        fresh = Scenario.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError([Issue((*prefix, *f.path), f.message, where)
                             for f in validation_findings(exc)]) from None
    issues = [Issue((*prefix, *f.path), f.message, where) for f in reference_findings(fresh)]
    if issues:
        raise ScenarioError(issues)
    return fresh


def _load_text(text: str, filename: str, overrides: Sequence[str]) -> Scenario:
    doc, issues = parse_yaml(text, filename, document=True)
    if issues:
        raise ScenarioError(issues)
    applied = apply_overrides(doc, overrides)
    locator = Locator(doc, filename, applied.paths)
    try:
        scenario = Scenario.model_validate(plain(doc, {}))
    except ValidationError as exc:
        raise ScenarioError(applied.issues + locator.issues(validation_findings(exc))) from None
    issues = applied.issues + locator.issues(reference_findings(scenario))
    if issues:
        raise ScenarioError(issues)
    return scenario
