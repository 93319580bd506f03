"""What a valid scenario says that does nothing, or not on the day it names: told, not refused.

A policy dated after the end never takes effect, and one dated before the start is in force
from the first day; both are legitimate (a timeline kept whole while the window is cut, an
earlier crackdown still in force), but a mistyped year reads the same, so the commands that
run a file print these as notes, located like the problems of an invalid file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from sim.errors import Issue
from sim.scenario import PowerOutage, Scenario
from sim.validation.common import Finding
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
    for p, pool in enumerate(scenario.pools):
        for e, event in enumerate(pool.events):
            if event.date > end:
                yield Finding(("pools", p, "events", e, "date"),
                              f"{event.kind} dated {event.date}, {after}")
    for r, region in enumerate(scenario.regions):
        for name, dates in (("electricity_schedule", [s.date for s in
                                                      region.electricity_schedule]),
                            ("capacity_schedule", [s.date for s in region.capacity_schedule])):
            for k, date in enumerate(dates):
                if date > end:
                    yield Finding(("regions", r, name, k, "date"),
                                  f"a step dated {date}, {after}")
    for c, coin in enumerate(scenario.coins):
        for k, fee in enumerate(coin.fees_schedule):
            if fee.date > end:
                yield Finding(("coins", c, "fees_schedule", k, "date"),
                              f"a step dated {fee.date}, {after}")
    for f, facility in enumerate(scenario.facilities):
        for k, step in enumerate(facility.capacity):
            if step.date > end:
                yield Finding(("facilities", f, "capacity", k, "date"),
                              f"a step dated {step.date}, {after}")
        for o, order in enumerate(facility.orders):
            if order.date > end:
                yield Finding(("facilities", f, "orders", o, "date"),
                              f"an order delivered on {order.date}, after the end ({end}): "
                              "its rigs never arrive")


def notes(source: str | os.PathLike[str], overrides: Sequence[str], scenario: Scenario
          ) -> list[Issue]:
    """The notes on `scenario`, loaded from file `source` with `overrides`, at their lines
    (the file is read again only when there is something to say)."""
    findings = timeline_findings(scenario)
    if not findings:
        return []
    file = os.fspath(source)
    doc, _ = parse_yaml(decode(read_bytes(file), file), file, document=True)
    applied = apply_overrides(doc, overrides)
    return Locator(doc, file, applied.paths).issues(findings)
