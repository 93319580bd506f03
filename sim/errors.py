"""User-facing errors: a scenario that does not validate, a results directory in the way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem in a scenario, located by field path and, where known, file position.

    ``line`` and ``col`` are 1-based. ``path`` is the field path inside the document
    (``("policies", 2, "hazard_per_day")``).
    """

    path: tuple[str | int, ...]
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None

    @property
    def dotted_path(self) -> str:
        return ".".join(str(p) for p in self.path) or "(document)"

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.dotted_path}: {self.message}"


class HashsimError(Exception):
    """Base class of errors caused by user input; the CLI prints them without a traceback.

    Exit code 2 (a usage error) unless a subclass says otherwise: 1 is reserved for a check
    that failed (backtest bands, compare --fail-above)."""

    exit_code = 2


class ScenarioError(HashsimError):
    """A scenario (or an override of it) is invalid; carries every issue found."""

    exit_code = 3
    what = "scenario"  # what is invalid, for messages

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class ResultsExistError(HashsimError):
    """The output directory exists and --force was not given."""

    exit_code = 2
