"""What every command shares: user errors as messages and exit codes, progress bars."""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from sim.results import check_target  # (the commands import it from here, as before)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> NoReturn:
    """Print `message` on stderr and exit with `code`."""
    click.echo(message, err=True)
    sys.exit(code)


def default_output(name: str, suffix: str = "") -> Path:
    """results/<name><suffix>, the name made safe as one folder name (a scenario's name may
    hold any printable character, `/` and `..` included)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "scenario"
    return Path("results") / f"{slug}{suffix}"


def _top_keys(path: Path) -> set[str] | None:
    """The top-level keys of YAML file `path`, None if it cannot be read (the command's own
    check then says what is wrong)."""
    from ruamel.yaml import YAML

    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8-sig"))
    except Exception:
        return None
    return {str(k) for k in doc} if isinstance(doc, dict) else set()


def experiment_file(name: str) -> Path | None:
    """The experiment file `name` names (a file whose top level has arms, replicates, design
    or parameters and no regions, or a bundled experiment), else None."""
    from sim.bundled import resolve, resolve_experiment

    path = resolve(name)
    if path.is_file():
        keys = _top_keys(path) or set()
        experiment = bool(keys & {"arms", "replicates", "design", "parameters"})
        return path if experiment and "regions" not in keys else None
    path = resolve_experiment(name)
    return path if path.is_file() else None


def scenario_file(name: str) -> Path | None:
    """The scenario file `name` names (a bundled scenario, or a file whose top level has
    regions), else None."""
    from sim.bundled import resolve

    path = resolve(name)
    return path if path.is_file() and "regions" in (_top_keys(path) or set()) else None


def echo_notes(name: str, overrides: Sequence[str], scenario: Any, err: bool = True) -> None:
    """Print the notes on what scenario `name` (loaded with `overrides`) says that does
    nothing, or not on its day (a policy dated after the end, say), as
    ``note: FILE:LINE:COL: …`` (to stderr unless `err` is False)."""
    from sim.bundled import resolve
    from sim.validation.notes import notes

    for note in notes(resolve(name), list(overrides), scenario):
        click.echo(f"note: {note}", err=err)


def check_output(target: Path, force: bool, what: str = "output", folder: bool = True) -> None:
    """Before anything runs: an existing `target` needs --force (exit code 2), it must be one
    that can be made, and a folder (`folder`; not a file) is replaced by --force only where it
    is hashsim's own output (:func:`sim.results.check_replaceable`)."""
    from sim.errors import ResultsExistError
    from sim.results import check_replaceable

    if target.exists() and not force:
        raise ResultsExistError(f"{target} exists; use --force to replace it")
    check_target(target, what)
    if folder:
        check_replaceable(target)


def report_errors(func: F | None = None, *, interrupted: str = "interrupted: nothing was written"
                  ) -> Any:
    """Turn user errors into a message on stderr and an exit code, never a traceback.

    Use bare (``@report_errors``) or with the message for Ctrl-C
    (``@report_errors(interrupted="interrupted: finished runs are kept")``).
    """
    if func is None:
        return functools.partial(report_errors, interrupted=interrupted)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sim.errors import HashsimError, ScenarioError

        try:
            return func(*args, **kwargs)
        except ScenarioError as err:
            for issue in err.issues:
                click.echo(str(issue), err=True)
            n = len(err.issues)
            fail(f"error: invalid {err.what} ({n} problem{'s' * (n != 1)}); nothing was "
                 "written", err.exit_code)
        except HashsimError as err:
            fail(f"error: {err}", err.exit_code)
        except BrokenPipeError:  # `hashsim … | head`: the reader left; click ends quietly
            raise
        except OSError as err:  # the file system refused (a path, a permission, a full disk)
            where = f" ({err.filename})" if err.filename else ""
            fail(f"error: {err.strerror or err}{where}", 2)
        except KeyboardInterrupt as err:  # (one with a message says what was kept)
            fail(f"error: {err}" if str(err) else interrupted, 130)
        except (click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort):
            raise
        except Exception:  # a bug: its traceback, and a code no check or input error uses
            import traceback

            traceback.print_exc()
            fail(INTERNAL_ERROR, EXIT_INTERNAL)

    return wrapper


#: The exit code of an internal error (BSD's EX_SOFTWARE): not 1, which says that a check
#: (a backtest's bands, compare --fail-above) failed.
EXIT_INTERNAL = 70
INTERNAL_ERROR = ("error: internal error in hashsim (a bug, not a problem with the input); "
                  "please report it with the traceback above and the command")


class FiniteFloat(click.FloatRange):
    """click.FloatRange that refuses nan and ±inf (a usage error, exit code 2).

    click lets nan through any bounds — every comparison with nan is false — so ``--confidence
    nan`` would reach scipy and ``--fail-above nan`` pass every check; and no option here has
    a meaning for an infinite value.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number
