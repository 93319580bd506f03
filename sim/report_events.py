"""Dated events of the bundled cases (China and Sparkpool 2021, Wuhan General 2018) as the
source articles report them, for reports.

The report's timeline annotates these beside the simulated event log, so a reader can see the
model's shocks against what happened. They come from the seed articles (``../shared/seeds``:
000 Reuters, German; 001 de.CryptoNews, German; 002 区块链日报 / Blockchain Daily, Chinese) and
from ``../shared/data/sourced_point_figures.csv`` (pts), whose pages are named in ``url``. Titles
are one-line English summaries; the dates are those the sources give (UTC+8 where it matters).

A scenario may carry its own list in ``observed.events`` (``{date, title, source}``); those are
used as well.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SEED_000 = "Reuters (German translation), 27 Sep 2021 [seeds/000]"
SEED_001 = "de.CryptoNews, Tim Alper, Sep 2018 [seeds/001]"
SEED_002 = "区块链日报 / Cailian Press Blockchain Daily, 26 Sep 2021 [seeds/002]"


@dataclass(frozen=True)
class SourceEvent:
    """An event as a source reports it."""

    date: dt.date
    title: str
    source: str
    url: str | None = None


WUHAN_2018: tuple[SourceEvent, ...] = (
    SourceEvent(dt.date(2018, 9, 11),
                "Wuhan General plans to turn a 3 MW US data centre into a 30 MW mine "
                "(1,300 → 13,300 rigs; 'over USD 3.5 M a month')", SEED_001,
                "https://coingeek.com/nevada-firm-talks-transform-us-data-center-crypto-mining-farm/"),
)

CHINA_2021: tuple[SourceEvent, ...] = (
    SourceEvent(dt.date(2021, 5, 18),
                "Three financial industry associations bar members from crypto business",
                SEED_002),
    SourceEvent(dt.date(2021, 5, 21),
                "State Council's financial committee calls for a crackdown on bitcoin mining "
                "and trading", f"{SEED_002}; {SEED_000}",
                "https://investing.com/news/cryptocurrency-news/"
                "another-chinese-province-bans-bitcoin-mining-2528195"),
    SourceEvent(dt.date(2021, 6, 9),
                "Xinjiang (Changji) orders miners to stop; Qinghai stops all mining",
                "pts: forkast.news; eurexcoin.com",
                "https://forkast.news/china-xinjiang-qinghai-regions-ban-crypto-mining/"),
    SourceEvent(dt.date(2021, 6, 20),
                "Sichuan: power companies to stop supplying mining facilities",
                "pts: coin-ed.org",
                "https://coin-ed.org/the-government-in-china-wants-a-complete-clean-up/"),
    SourceEvent(dt.date(2021, 6, 21),
                "People's Bank of China summons banks and Alipay over crypto payments",
                SEED_002),
    SourceEvent(dt.date(2021, 7, 3),
                "Bitcoin difficulty falls 27.94 %, the largest drop on record",
                "pts: CoinDesk, 3 Jul 2021",
                "https://www.coindesk.com/markets/2021/07/03/"
                "bitcoin-mining-difficulty-records-largest-drop-in-history-price-jumps/"),
    SourceEvent(dt.date(2021, 9, 24),
                "'9.24 notice': ten ministries declare all crypto transactions illegal, "
                "foreign exchanges included", f"{SEED_002}; {SEED_000}"),
    SourceEvent(dt.date(2021, 9, 24),
                "Sparkpool stops serving mainland-China users; NBMiner ends mainland support",
                SEED_002,
                "https://omgaltcoin.com/china-biggest-ethereum-mining-pool-shuts-down/570"),
    SourceEvent(dt.date(2021, 9, 24),
                "Huobi stops mainland registrations (announced 26 Sep)", SEED_002),
    SourceEvent(dt.date(2021, 9, 25),
                "TokenPocket ends trading-related services for mainland users; "
                "BHEX to close its platform", f"{SEED_002}; {SEED_000}"),
    SourceEvent(dt.date(2021, 9, 26),
                "Binance suspends mainland registrations", f"{SEED_002}; {SEED_000}"),
    SourceEvent(dt.date(2021, 9, 30),
                "Sparkpool closes for all users (20:00 UTC+8)", "pts: cryptopotato.com",
                "https://cryptopotato.com/ethereums-second-largest-mining-pool-to-shut-dow-on-"
                "sept-30-amid-china-regulatory-pressure/"),
    SourceEvent(dt.date(2021, 12, 31),
                "Huobi's deadline to close existing mainland accounts", f"{SEED_002}; {SEED_000}"),
)

#: Sparkpool's case is the 9.24 notice and what followed it; the spring's Bitcoin crackdown
#: is another story.
SPARKPOOL_2021 = tuple(e for e in CHINA_2021 if e.date >= dt.date(2021, 9, 24))

#: Scenario-name prefixes and the table each gets.
CASES: dict[str, tuple[SourceEvent, ...]] = {"china-2021": CHINA_2021,
                                             "sparkpool-2021": SPARKPOOL_2021,
                                             "wuhan-general-2018": WUHAN_2018}


def source_events(scenario: dict[str, Any]) -> list[SourceEvent]:
    """Source events for a scenario (a plain dict): its ``observed.events``, plus the bundled
    table's events on other dates when its name starts with a known case; only those from
    its ``start`` to its ``end`` where it gives them. Sorted by date; undated entries are
    dropped."""
    out: list[SourceEvent] = []
    observed = scenario.get("observed")
    entries = observed.get("events") if isinstance(observed, dict) else None
    for e in entries if isinstance(entries, list) else []:
        date = _date(e.get("date")) if isinstance(e, dict) else None
        if date is not None:
            out.append(SourceEvent(date, str(e.get("title", "")), str(e.get("source", "")),
                                   str(e["url"]) if e.get("url") else None))
    name = str(scenario.get("name", ""))
    for prefix, table in CASES.items():
        if name.startswith(prefix):
            covered = {e.date for e in out}  # the scenario's own entries win on their dates
            out += [e for e in table if e.date not in covered]
    first = _date(scenario.get("start")) or dt.date.min
    last = _date(scenario.get("end")) or dt.date.max
    return sorted((e for e in out if first <= e.date <= last), key=lambda e: e.date)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# ---------------------------------------------------------------------------- plain words

#: The engine's generated event texts (sim/agents) and the words a class can follow. Each
#: pattern matches a whole description; a scenario's own descriptions are left as written.
_PLAIN: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = {
    "mining_ban": (
        re.compile(r"mining ban in (\S+): enforcement hazard ([0-9.eE+-]+)/day"),
        lambda m: (f"mining ban in {m[1]}: at full strength, inspectors find and switch off "
                   f"about {_daily_pct(float(m[2]))} of the rigs still mining there each day")),
    "announcement": (
        re.compile(r"announcement raises perceived risk in (\S+) by ([0-9.eE+-]+)"),
        lambda m: (f"an announcement makes mining in {m[1]} look riskier (risk score "
                   f"+{m[2]}), which miners weigh when they decide to stay or leave")),
    "exchange_ban": (
        re.compile(r"exchanges stop serving (\S+) \(off-ramp haircut ([0-9]+)%\)"),
        lambda m: (f"exchanges stop serving {m[1]}: miners there lose about {m[2]} % of "
                   "their earnings when they turn coins into money")),
    "pool_service_ban": (
        re.compile(r"pools must stop serving (\S+)"),
        lambda m: f"mining pools must stop serving miners in {m[1]}"),
    "pool_stop_service": (
        re.compile(r"(\S+) stops serving miners \((.+)\); VPN leakage ([0-9]+)%"),
        lambda m: (f"pool {m[1]} stops serving miners in {m[2]}; about {m[3]} % of them keep "
                   "using it in secret through a VPN, the others must find another pool")),
    "pool_stop_new_users": (
        re.compile(r"(\S+) stops accepting new miners \((.+)\)"),
        lambda m: f"pool {m[1]} stops accepting new miners from {m[2]}"),
    "pool_wind_down": (
        re.compile(r"(\S+) winds down: miners leave until (\S+)"),
        lambda m: f"pool {m[1]} winds down: its miners move to other pools until {m[2]}"),
    "pool_shutdown": (re.compile(r"(\S+) shuts down"), lambda m: f"pool {m[1]} shuts down"),
    "incentive": (re.compile(r"(\S+) courts miners"),
                  lambda m: f"{m[1]} invites miners (cheaper power, more room)"),
    "power_cutoff": (re.compile(r"power cut off for miners in (\S+)"),
                     lambda m: f"power cut off for miners in {m[1]}"),
    "power_outage": (re.compile(r"power outage in (\S+)"), lambda m: f"power outage in {m[1]}"),
    "power_restored": (re.compile(r"power back in (\S+)"), lambda m: f"power back in {m[1]}"),
}
#: Event kinds a government logs: a scenario's policies, and the end of a power outage.
POLICY_KINDS = frozenset({"announcement", "mining_ban", "power_cutoff", "power_outage",
                          "power_restored", "pool_service_ban", "exchange_ban", "incentive",
                          "lift"})
#: Kinds whose generated text names a region first (shown by its label where one is given).
_REGION_FIRST = frozenset({"mining_ban", "announcement", "exchange_ban", "pool_service_ban",
                           "incentive", "power_cutoff", "power_outage", "power_restored"})


def _daily_pct(hazard_per_day: float) -> str:
    """The share of rigs a daily hazard catches in one day (1 − e^−h), as '26 %'."""
    share = -math.expm1(-hazard_per_day)
    return f"{100 * share:.0f} %" if share >= 0.01 else f"{100 * share:.1f} %"


#: Kinds whose generated text is distinctive enough to be recognised without the kind (in a
#: figure's hover text, which carries none).
_DISTINCT = ("mining_ban", "announcement", "exchange_ban", "pool_stop_service")


def plain_text(description: str, lifted: dict[str, str] | None = None,
               labels: dict[str, str] | None = None) -> str:
    """:func:`plain_event` for a text whose kind is unknown: each line is explained where
    only one kind of event writes it."""
    out = []
    for line in description.split("\n"):
        kind = next((k for k in _DISTINCT if _PLAIN[k][0].fullmatch(line)),
                    "lift" if re.fullmatch(r"policy '.+' lifted", line) else "")
        out.append(plain_event(kind, line, lifted, labels))
    return "\n".join(out)


def plain_event(kind: str, description: str, lifted: dict[str, str] | None = None,
                labels: dict[str, str] | None = None) -> str:
    """An event's description in words a 16-year-old can follow.

    The texts the engine writes (``enforcement hazard 0.3/day``, ``off-ramp haircut 2%``,
    ``VPN leakage 30%``) are explained and their region shown by its label (`labels`, see
    :func:`region_labels`); a lifted policy is named by what it was (`lifted` maps policy ids
    to their descriptions); other texts, a scenario's own words, are returned unchanged.
    """
    if kind == "lift":
        found = re.fullmatch(r"policy '(.+)' lifted", description)
        if found:
            what = (lifted or {}).get(found[1])
            return f"lifted: {what}" if what else f"policy {found[1]!r} is lifted (ends)"
        return description
    if kind in _PLAIN:
        pattern, words = _PLAIN[kind]
        found = pattern.fullmatch(description)
        if found:
            text = words(found)
            if kind in _REGION_FIRST and labels and found[1] in labels:  # "Red Country"
                text = text.replace(found[1], labels[found[1]], 1)
            return text
    return description


def region_labels(scenario: dict[str, Any]) -> dict[str, str]:
    """Region name → its display label, for the regions that have one."""
    return {str(r["name"]): str(r["label"]) for r in scenario.get("regions") or []
            if isinstance(r, dict) and r.get("label")}


def policy_texts(scenario: dict[str, Any]) -> dict[str, str]:
    """Policy id → what the policy is (its description, else its kind and region), for
    naming a lifted policy."""
    out: dict[str, str] = {}
    for p in scenario.get("policies") or []:
        if isinstance(p, dict) and p.get("id"):
            text = p.get("description") or (f"{str(p.get('kind', 'policy')).replace('_', ' ')}"
                                             f" in {p.get('region', '')}")
            out.setdefault(str(p["id"]), str(text))
    return out
