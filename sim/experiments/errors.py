"""Errors of the experiment commands that are the user's to fix (no traceback)."""

from __future__ import annotations

from sim.errors import HashsimError


class UsageError(HashsimError):
    """A command was asked for something its input cannot give (exit code 2): a results
    folder in the way or from another experiment, a metric or arm that does not exist, a
    sensitivity analysis of a design that has none."""

    exit_code = 2


class InputError(HashsimError):
    """A results folder or table given to a command is not what it needs (exit code 3)."""

    exit_code = 3
