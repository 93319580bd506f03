"""What a valid scenario says that does nothing, or not on the day it names: told, not refused.

A policy dated after the end never takes effect, and one dated before the start is in force
from the first day; both are legitimate (a timeline kept whole while the window is cut, an
earlier crackdown still in force), but a mistyped year reads the same, so the commands that
run a file print these as notes, located like the problems of an invalid file. So are values
that the model reads only with another (a full outage's return_days, an announcement's
suspend_days without a rate, a lift of a partial outage): refusing them would fail a sweep
whose design reaches that corner.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence

from sim.errors import Issue
from sim.scenario import Announcement, Lift, PowerOutage, Scenario
from sim.validation.common import FieldPath, Finding
from sim.validation.locating import Locator
from sim.validation.overrides import apply_overrides
from sim.validation.reading import decode, parse_yaml, read_bytes


def timeline_findings(scenario: Scenario) -> list[Finding]:
    """The dated items of `scenario` outside its run, each with what that means: policies
    (before the start, after the end), and pool events, dated steps (prices, capacity, fees)
    and facility orders after the end."""
    return list(_outside(scenario))


def _outside(scenario: Scenario) -> Iterator[Finding]:
    start, end = scenario.start, scenario.end
    after = f"after the end ({end}): it never takes effect"
    for i, policy in enumerate(scenario.policies):
        path = ("policies", i, "date")
        if policy.date > end:
            yield Finding(path, f"{policy.kind} dated {policy.date}, {after}")
        elif isinstance(policy, PowerOutage) and policy.over_before(start):
            yield Finding(path, f"power_outage dated {policy.date} is over before the start "
                          f"({start}): it does nothing")
        elif policy.date < start:
            yield Finding(path, f"{policy.kind} dated {policy.date}, before the start ({start}): "
                          "in force from the first day (a ramp or grace counts from its date)")
    for where, date, what in _dated(scenario):
        if date > end:
            yield Finding(where, f"{what} dated {date}, {after}")


def idle_findings(scenario: Scenario) -> list[Finding]:
    """The policy values that do nothing without another: a full outage's `return_days`, an
    announcement's `suspend_days` without `suspend_rate_per_day`, a lift of a partial outage
    (only its `days` end it)."""
    partial = {p.id for p in scenario.policies
               if isinstance(p, PowerOutage) and p.share < 1.0 and p.id is not None}
    found = []
    for i, policy in enumerate(scenario.policies):
        if isinstance(policy, PowerOutage) and policy.share >= 1.0 and policy.return_days > 0:
            found.append(Finding(("policies", i, "return_days"), "return_days spreads the "
                                 "return of a partial outage (share below 1) only: this one's "
                                 "rigs all come back when power returns"))
        elif (isinstance(policy, Announcement) and policy.suspend_rate_per_day == 0
              and policy.suspend_days is not None):
            found.append(Finding(("policies", i, "suspend_days"), "suspend_days does nothing "
                                 "without suspend_rate_per_day (the share of rigs that switch "
                                 "off to wait)"))
        elif isinstance(policy, Lift) and policy.policy in partial:
            found.append(Finding(("policies", i, "policy"), "a lift does not end a partial "
                                 "outage (share below 1) early: it does nothing (the outage "
                                 "ends after its days)"))
    return found


def _dated(scenario: Scenario) -> Iterator[tuple[FieldPath, dt.date, str]]:
    """Every dated item but the policies (those are noted either way): where, its date, what
    it is."""
    for p, pool in enumerate(scenario.pools):
        for e, event in enumerate(pool.events):
            yield ("pools", p, "events", e, "date"), event.date, event.kind
    for r, region in enumerate(scenario.regions):
        for name, steps in (("electricity_schedule", region.electricity_schedule),
                            ("capacity_schedule", region.capacity_schedule)):
            for k, date in enumerate(step.date for step in steps):
                yield ("regions", r, name, k, "date"), date, "a step"
    for c, coin in enumerate(scenario.coins):
        for k, fee in enumerate(coin.fees_schedule):
            yield ("coins", c, "fees_schedule", k, "date"), fee.date, "a step"
    for f, facility in enumerate(scenario.facilities):
        for k, cap in enumerate(facility.capacity):
            yield ("facilities", f, "capacity", k, "date"), cap.date, "a step"
        for o, order in enumerate(facility.orders):
            yield ("facilities", f, "orders", o, "date"), order.date, "an order"


def notes(source: str | os.PathLike[str], overrides: Sequence[str], scenario: Scenario
          ) -> list[Issue]:
    """The notes on `scenario`, loaded from file `source` with `overrides`, at their lines
    (the file is read again only when there is something to say)."""
    findings = timeline_findings(scenario) + idle_findings(scenario)
    if not findings:
        return []
    file = os.fspath(source)
    doc, _ = parse_yaml(decode(read_bytes(file), file), file, document=True)
    applied = apply_overrides(doc, overrides)
    return Locator(doc, file, applied.paths).issues(findings)
