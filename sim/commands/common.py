"""What every command shares: user errors as messages and exit codes, progress bars."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> NoReturn:
    """Print `message` on stderr and exit with `code`."""
    click.echo(message, err=True)
    sys.exit(code)


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
        except KeyboardInterrupt:
            fail(interrupted, 130)

    return wrapper
