"""`hashsim demo`: run a scenario and tell its story in the terminal, for a class.

The run is one replicate, driven day by day as `sim.engine.run_replicate` drives it, with a
narrator called after every simulated day. The narrator reads the world directly: new entries
of its event log (policies, pools, services, retargets), the hashrate and difficulty of each
chain, the rigs by status and the rigs relocated by destination. ``pace`` pauses after each
simulated week and each event, so a live class can follow; ``pace=0`` never sleeps.

The results are then written like `hashsim run` writes them (with ``demo`` recorded in
run.json, so a later demo may replace them) and, when plotly is installed, a report.html.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from sim.errors import HashsimError, ResultsExistError
from sim.report_events import POLICY_KINDS, plain_event, policy_texts, region_labels, source_events

Echo = Callable[[str], None]
QUIET_KINDS = {"capacity"}  # the grid's monthly capacity steps: too many lines for a class
BIG_RETARGET_PCT = 5.0  # smaller retargets get a short line
_RETARGET = re.compile(r"difficulty ([+-]?[0-9.]+)% at height ([0-9,]+) \(epoch of ([0-9.]+)")


class UnknownScenarioError(HashsimError):
    """A demo name that is neither a bundled scenario nor a file."""

    exit_code = 3  # as `hashsim run` with an unknown scenario


@dataclass
class DemoOutcome:
    results: Any  # sim.results.Results
    directory: Path
    report: Path | None


def find_scenario(name: str) -> Any:
    """Load a scenario file or a bundled scenario by name; a clear error if there is none.

    A file of that name wins; a folder of that name does not hide the bundled scenario (a
    class that ran ``hashsim run tutorial -o tutorial`` can still run ``hashsim demo``)."""
    import sim
    from sim.bundled import bundled_scenarios, resolve

    path = resolve(name)
    if not path.is_file():
        names = ", ".join(bundled_scenarios()) or "none"
        what = "a folder, not a scenario file" if path.is_dir() else "not a file"
        raise UnknownScenarioError(f"no scenario {name!r}: {what} and not bundled "
                                   f"(bundled: {names})")
    return sim.load(path)


#: The last day's closing status and migration lines are left out when the weekly or monthly
#: ones were printed fewer days before.
MIN_GAP_DAYS = 3


class Narrator:
    """Called after every simulated day; prints what a class should notice."""

    def __init__(self, world: Any, echo: Echo, sleep: Callable[[float], None], pace: float
                 ) -> None:
        from sim.agents.miners import mining_hashrate

        self.world, self.echo, self.sleep, self.pace = world, echo, sleep, pace
        self._hashrate = mining_hashrate
        sc = world.scenario
        self.start_hs = np.asarray(mining_hashrate(world), dtype=float).copy()
        self.peak_hs = self.start_hs.copy()
        self.units = [(1e18, "EH/s") if c.rule == "bitcoin" else (1e12, "TH/s")
                      for c in sc.coins]
        self.labels = [_short_label(r.label or r.name) for r in sc.regions]
        self.news: dict[dt.date, list[str]] = {}
        for item in source_events(sc.model_dump(mode="json")):
            self.news.setdefault(item.date, []).append(item.title)
        plain = sc.model_dump(mode="json")
        self.lifted = policy_texts(plain)  # to name a lifted policy
        self.named = region_labels(plain)  # "Red Country", not red_country
        self.seen = 0
        self.moved = np.zeros(len(sc.regions))
        self.status_day = self.migration_day = -MIN_GAP_DAYS  # when each was last printed

    def _pause(self, factor: float = 1.0) -> None:
        if self.pace > 0:
            self.sleep(self.pace * factor)

    def __call__(self, day: int) -> None:
        w = self.world
        fresh = sorted(w.events[self.seen:], key=lambda e: e.time_days)
        self.seen = len(w.events)
        date = w.date(day)
        for title in self.news.get(date, []):
            self.echo(click.style(f"{date.isoformat()}  » in the news (what really happened): "
                                  f"{title}", fg="magenta"))
            self._pause(0.5)
        for event in fresh:
            self._event(event)
        # the run's last day closes with both lines, unless they were printed a few days ago
        last = day == w.scenario.num_days - 1
        if day % 7 == 6 or (last and day - self.status_day >= MIN_GAP_DAYS):
            self._status(date)
            self.status_day = day
            self._pause()
        if (date + dt.timedelta(days=1)).day == 1 or (
                last and day - self.migration_day >= MIN_GAP_DAYS):
            self._migration(date)
            self.migration_day = day

    def _event(self, event: Any) -> None:
        if event.kind in QUIET_KINDS:
            return
        date = self.world.date(event.time_days).isoformat()
        if event.kind == "retarget":
            text = self._retarget(event)
            big = "answers" in text
            self.echo(click.style(f"{date}  {text}", fg="cyan" if big else None, dim=not big))
            self._pause(0.5 if big else 0.1)
            return
        text = plain_event(event.kind, event.description, self.lifted, self.named)
        if event.actor and event.actor not in text and event.kind in POLICY_KINDS:
            text = f"{event.actor}: {text}"
        bold = event.kind in POLICY_KINDS
        self.echo(click.style(f"{date}  ▶ {text}", fg="yellow" if bold else None, bold=bold))
        self._pause(1.0 if bold else 0.5)

    def _retarget(self, event: Any) -> str:
        found = _RETARGET.search(event.description)
        if not found:
            return f"⛏ {event.actor}: {event.description}"
        pct, height, days = float(found[1]), found[2], float(found[3])
        coin = next(c for c in self.world.scenario.coins if c.name == event.actor)
        if abs(pct) < BIG_RETARGET_PCT:
            return f"⛏ {coin.name} difficulty {pct:+.2f} %"
        target = coin.retarget_blocks * coin.block_time_s / 86400.0
        easier = "easier" if pct < 0 else "harder"
        return (f"⛏ {coin.name} difficulty answers: {pct:+.2f} % at block {height} (the last "
                f"{coin.retarget_blocks:,} blocks took {days:.1f} days instead of {target:.0f}, "
                f"so finding a block is made {easier})")

    def _status(self, date: dt.date) -> None:
        from sim.state import STATUS_NAMES

        w = self.world
        hs = np.asarray(self._hashrate(w), dtype=float)
        self.peak_hs = np.maximum(self.peak_hs, hs)
        parts = []
        for c, coin in enumerate(w.scenario.coins):
            scale, unit = self.units[c]
            rel = hs[c] / self.start_hs[c] if self.start_hs[c] > 0 else 1.0
            bar = "█" * round(min(rel, 1.5) * 16)
            diff = w.chains[c].difficulty if w.chains else float("nan")
            parts.append(f"{coin.name} {hs[c] / scale:8.2f} {unit} {bar:<24} {rel:5.0%}  "
                         f"difficulty {_si(diff)}")
        counts = dict(zip(STATUS_NAMES, w.fleet.total_by_status().tolist(), strict=True))
        rigs = (f"online {counts['online']:,} · banned {counts['banned_off']:,} · in transit "
                f"{counts['in_transit']:,} · queued {counts['queued']:,} · underground "
                f"{counts['underground']:,}")
        self.echo(f"{date.isoformat()}  " + "\n            ".join(parts) + f"\n            {rigs}")

    def _migration(self, date: dt.date) -> None:
        moved = np.asarray(self.world.relocated_total, dtype=float)
        if moved.sum() <= self.moved.sum():
            return
        gained = moved - self.moved
        self.moved = moved.copy()
        top = np.argsort(-moved, kind="stable")[:5]
        where = " · ".join(f"{self.labels[r]} {moved[r]:,.0f}" for r in top if moved[r] > 0)
        self.echo(click.style(f"{date.isoformat()}  ⇢ rigs shipped so far: {where} "
                              f"(+{gained.sum():,.0f} this month)", fg="green"))
        self._pause(0.5)


def _short_label(label: str) -> str:
    """'Rest of the world (Latin America, …)' → 'Rest of the world'."""
    return label.split(" (")[0] or label


def _si(value: float) -> str:
    """3.91e+11 as '391 G'."""
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}"
    return f"{value:.3g}"


def _intro(scenario: Any, echo: Echo) -> None:
    rigs = sum(f.rigs for f in scenario.fleet)
    echo(click.style(f"hashsim demo: {scenario.name}", bold=True))
    for line in textwrap.wrap(" ".join(scenario.description.split()), 92):
        echo(f"  {line}")
    counts = [(len(scenario.regions), "region", "regions"), (rigs, "rig", "rigs"),
              (len(scenario.pools), "pool", "pools"),
              (len(scenario.policies), "policy", "policies")]
    text = ", ".join(f"{n:,} {one if n == 1 else many}" for n, one, many in counts)
    echo(f"  {scenario.start} … {scenario.end}: {text}\n")
    for line in _legend(scenario):
        echo(click.style(line, dim=True))
    echo("")


def _legend(scenario: Any) -> list[str]:
    """How to read the lines that follow, in plain words (printed once, before the run)."""
    units = sorted({"EH/s (1 EH/s = a billion billion guesses a second)" if c.rule == "bitcoin"
                    else "TH/s (1 TH/s = a million million guesses a second)"
                    for c in scenario.coins})
    lines = [
        "How to read it:",
        "  ▶  a government, pool or company acts (on the day it takes effect)",
        *(["  »  what the news reported at the time, to compare with the simulation"]
          if source_events(scenario.model_dump(mode="json")) else []),
        "  each week: the hashrate - how many guesses a second all the miners make together -",
        *(f"     in {unit}" for unit in units),
        "     with a bar and its percentage of the start, then the difficulty (how hard a "
        "block is to find);",
        "     then the rigs (mining machines): online = mining · banned = switched off by a "
        "ban ·",
        "     in transit = being shipped abroad · queued = arrived, waiting for a place to "
        "plug in ·",
        "     underground = mining in secret (rigs off because they would lose money are not "
        "listed)",
        "  ⇢  where the rigs that left have been sent so far, each month",
    ]
    epochs = [c for c in scenario.coins if c.rule == "bitcoin"]
    if epochs:
        c = epochs[0]
        lines.append(f"  ⛏  every {c.retarget_blocks:,} blocks the difficulty is reset so that "
                     f"a block takes {c.block_time_s / 60:g} minutes again on average")
    return lines


def _target(scenario: Any, output: Path | None, force: bool) -> Path:
    import json

    from sim.commands.common import check_target, default_output
    from sim.results import check_replaceable

    target = output or default_output(f"demo-{scenario.name}")
    check_target(target)
    check_replaceable(target)
    if target.exists() and not force:
        try:
            previous = json.loads((target / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
        if not (isinstance(previous, dict) and previous.get("demo")):
            raise ResultsExistError(f"{target} exists and is not a previous demo's; use "
                                    "--force to replace it or -o to choose another folder")
    return target


def run_demo(name: str = "tutorial", pace: float = 0.5, seed: int | None = None,
             output: Path | None = None, force: bool = False, report: bool = True,
             command: list[str] | None = None, echo: Echo = click.echo,
             sleep: Callable[[float], None] | None = None) -> DemoOutcome:
    """Run scenario `name` with narration; write its results and (if plotly is there) a report.

    `echo` prints a line, `sleep` pauses (default `time.sleep`); `pace` is seconds per week.
    """
    from sim.results import run

    scenario = find_scenario(name)
    target = _target(scenario, output, force)
    from sim.rng import draw_seed

    seed_used = seed if seed is not None else (scenario.seed if scenario.seed is not None
                                               else draw_seed())
    _intro(scenario, echo)
    narrators: list[Narrator] = []  # one: the narrator sees the world as it runs

    def start(_rep: int, world: Any) -> None:
        narrators.append(Narrator(world, echo, sleep or time.sleep, pace))

    results = run(scenario, seed=seed_used, replicates=1, on_start=start,
                  on_day=lambda _rep, day: narrators[-1](day),
                  command=command if command is not None else ["hashsim", "demo", name])
    results.provenance["demo"] = name
    results.write(target, force=True)
    _headline(results, echo)
    page = _write_report(results, target, echo) if report else None
    echo(f"\nresults: {target}/")
    if page is not None:
        echo(click.style(f"report:  {page}  (open it in a browser; it works offline)", bold=True))
    return DemoOutcome(results, target, page)


def _headline(results: Any, echo: Echo) -> None:
    from sim.plots import RunData
    from sim.report import summary_rows

    data = RunData.from_results(results)
    wanted = {"pre_shock_hashrate", "trough_hashrate", "drop", "largest_upward_adjustment",
              "largest_downward_adjustment", "days_to_recover_90"}
    # and what the rigs chose, where they chose anything (the question a ban's demo asks)
    summary = results.summary
    made = summary[summary["metric"].str.startswith("decided.") & (summary["value"] > 0)]
    wanted |= set(made["metric"])
    echo(click.style("\nWhat happened", bold=True))
    for row in summary_rows(data):
        if row["metric"] in wanted:
            echo(f"  {row['coin']}  {row['name']}: {row['cells'][0]}")


def _write_report(results: Any, target: Path, echo: Echo) -> Path | None:
    from sim.plots import MissingExtraError, RunData
    from sim.report import write_report

    data = RunData.from_results(results)
    data.source = target
    try:
        return write_report(data, target / "report.html")
    except MissingExtraError as err:
        echo(f"no report: {err}")
        return None
