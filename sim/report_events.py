"""Dated events of the 2021 China case as the source articles report them, for reports.

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


CHINA_2021: tuple[SourceEvent, ...] = (
    SourceEvent(dt.date(2018, 9, 11),
                "Wuhan General plans to turn a 3 MW US data centre into a 30 MW mine "
                "(1,300 → 13,300 rigs; 'over USD 3.5 M a month')", SEED_001,
                "https://coingeek.com/nevada-firm-talks-transform-us-data-center-crypto-mining-farm/"),
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

#: Scenario-name prefixes and the table each gets.
CASES: dict[str, tuple[SourceEvent, ...]] = {"china-2021": CHINA_2021,
                                             "sparkpool-2021": CHINA_2021}


def source_events(scenario: dict[str, Any]) -> list[SourceEvent]:
    """Source events for a scenario (a plain dict): its ``observed.events``, plus the bundled
    table's events on other dates when its name starts with a known case. Sorted by date;
    undated entries are dropped."""
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
    return sorted(out, key=lambda e: e.date)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
