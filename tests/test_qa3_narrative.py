"""QA pass 3 of what the demo and the report tell a class: true to the tables and plain.

One short tutorial demo (cut at the end of July) is run once for the module; its printed lines
are checked against the result files it writes.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest

from sim.bundled import bundled_scenarios
from sim.demo import run_demo
from sim.plots import RunData, run_data
from sim.report import metric_name, summary_rows
from sim.report_events import plain_event, plain_text, policy_texts


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    """The printed lines and the results folder of a demo of the tutorial cut at 31 July."""
    text = bundled_scenarios()["tutorial"].read_text(encoding="utf-8")
    assert "\nend: 2021-12-31" in text
    base = tmp_path_factory.mktemp("narrative")
    path = base / "short.yaml"
    path.write_text(text.replace("\nend: 2021-12-31", "\nend: 2021-07-31"), encoding="utf-8")
    lines: list[str] = []
    run_demo(str(path), pace=0.0, seed=1, output=base / "d", report=False,
             echo=lambda line: lines.append(click.unstyle(line)))
    return lines, base / "d"


def test_the_demo_says_how_to_read_its_lines_before_the_run(demo: tuple[list[str], Path]
                                                            ) -> None:
    lines, _ = demo
    first_dated = next(i for i, line in enumerate(lines) if re.match(r"\d{4}-\d\d-\d\d", line))
    legend = "\n".join(lines[:first_dated])
    assert "How to read it" in legend
    for words in ("EH/s", "online = mining", "in transit = being shipped abroad",
                  "queued = arrived", "underground = mining in secret", "2,016 blocks"):
        assert words in legend, words
    assert "»" not in legend  # the tutorial has no news to compare with


def test_the_engines_jargon_is_explained_in_the_demo(demo: tuple[list[str], Path]) -> None:
    lines, _ = demo
    text = "\n".join(lines)
    for jargon in ("enforcement hazard", "perceived risk", "off-ramp haircut", "VPN leakage",
                   "epoch"):
        assert jargon not in text, jargon
    # hazard 0.05/day: 1 − e^−0.05 = 4.9 % of the rigs still mining are caught a day
    assert ("2021-04-01  ▶ Red Council: mining ban in Red Country: at full strength, inspectors "
            "find and switch off about 5 % of the rigs still mining there each day") in text


def test_retarget_lines_match_the_events_table(demo: tuple[list[str], Path]) -> None:
    lines, folder = demo
    events = pd.read_csv(folder / "events.csv")
    rt = events[events["kind"] == "retarget"]
    table = {(d, round(float(p), 2)): float(e) for d, p, e in zip(
        rt["date"], rt["description"].str.extract(r"difficulty ([+-][0-9.]+)%")[0],
        rt["description"].str.extract(r"epoch of ([0-9.]+) days")[0], strict=True)}
    big = [re.match(r"(\S+)  ⛏ TUT difficulty answers: ([+-][0-9.]+) % at block [0-9,]+ "
                    r"\(the last 2,016 blocks took ([0-9.]+) days instead of 14, so finding "
                    r"a block is made (easier|harder)\)$", line)
           for line in lines if "difficulty answers" in line]
    assert big and all(big)
    for m in big:
        assert m is not None
        days = table[(m[1], float(m[2]))]  # the same date and change as events.csv
        assert float(m[3]) == pytest.approx(days, abs=0.05)
        assert (m[4] == "easier") == (float(m[2]) < 0)


def test_the_demos_headline_is_the_summary_table(demo: tuple[list[str], Path]) -> None:
    lines, folder = demo
    summary = pd.read_csv(folder / "summary.csv").set_index("metric")
    drop = next(line for line in lines if "drop to the trough" in line)
    value = summary.loc["drop", "value"]
    assert isinstance(value, float) and drop.endswith(f": {value:.2f} %")
    pre = next(line for line in lines if "hashrate before the shock" in line)
    shock = summary.loc["pre_shock_hashrate", "date"]
    assert isinstance(shock, str) and pre.endswith(f"(shock on {shock})")
    assert "mean of the 7 days before it" in pre


def test_the_report_explains_each_section_and_the_events(demo: tuple[list[str], Path]) -> None:
    pytest.importorskip("plotly")
    from sim.report import build_report

    page = build_report(demo[1])
    for sid in ("summary", "hashrate", "difficulty", "timeline", "regions", "rigs", "pools",
                "migration", "energy"):
        found = re.search(rf"<section id='{sid}'><h2>[^<]*</h2><p class='caption'>", page)
        assert found, sid
    assert "enforcement hazard" not in page and "perceived risk" not in page
    assert "inspectors find and switch off about 5 %" in page  # the events table and hover


def test_plain_event_explains_generated_texts_only() -> None:
    lifted = {"iran-summer-ban": "Iran bans all crypto mining for four months"}
    assert "about 26 % of the rigs" in plain_event(
        "mining_ban", "mining ban in yunnan: enforcement hazard 0.3/day")
    assert plain_event("lift", "policy 'iran-summer-ban' lifted", lifted) == \
        "lifted: Iran bans all crypto mining for four months"
    assert "30 % of them keep using it in secret through a VPN" in plain_event(
        "pool_stop_service", "f2pool stops serving miners (china); VPN leakage 30%")
    assert "lose about 5 % of their earnings" in plain_event(
        "exchange_ban", "exchanges stop serving china (off-ramp haircut 5%)")
    # a scenario's own words, and a text under another kind, are left as written
    assert plain_event("mining_ban", "Inner Mongolia enforces its orders") == \
        "Inner Mongolia enforces its orders"
    assert plain_event("announcement", "Mine shuts down") == "Mine shuts down"
    assert plain_text("power back in x\nmining ban in x: enforcement hazard 0.05/day") == \
        ("power back in x\nmining ban in x: at full strength, inspectors find and switch off "
         "about 5 % of the rigs still mining there each day")
    assert policy_texts({"policies": [{"id": "b", "kind": "mining_ban", "region": "red_c"}]}) \
        == {"b": "mining ban in red_c"}


def _summary(rows: list[tuple[str, float, str, str]], runs: int) -> RunData:
    net = pd.DataFrame({"date": "2021-09-01", "coin": "ETH", "hashrate_hs": 6e14,
                        "replicate": range(runs)})
    summary = pd.DataFrame([{"replicate": k % runs, "coin": "ETH", "metric": m, "value": v,
                             "unit": u, "date": d} for k, (m, v, u, d) in enumerate(rows)])
    scenario = {"coins": [{"name": "ETH", "rule": "tracking"}],
                "regions": [{"name": "c", "label": "C"}, {"name": "p", "parent": "c"}]}
    return RunData("t", scenario, {"network": net, "summary": summary})


def test_a_rise_after_the_shock_is_not_called_a_drop_or_a_recovery() -> None:
    """sparkpool-2021: 'drop to the trough -0.37 %' and 'back to 90 % after 0 days'."""
    rows = [("drop", -0.37, "%", ""), ("drop", -0.2, "%", ""),
            ("days_to_recover_90", 0.0, "days after trough", "2021-09-24"),
            ("days_to_recover_90", 0.0, "days after trough", "2021-09-24")]
    cells = {r["metric"]: r["cells"][0] for r in summary_rows(_summary(rows, 2))}
    assert cells["drop"].startswith("none: the hashrate did not fall")
    assert cells["days_to_recover_90"].startswith("none needed: it never fell below 90 %")
    # a real drop and a real recovery keep their numbers
    rows = [("drop", 45.3, "%", ""), ("drop", -1.0, "%", ""),
            ("days_to_recover_90", 96.0, "days after trough", "2021-10-04"),
            ("days_to_recover_90", 0.0, "days after trough", "2021-06-30")]
    cells = {r["metric"]: r["cells"][0] for r in summary_rows(_summary(rows, 2))}
    assert cells["drop"].startswith("22.15 %") and cells["days_to_recover_90"].startswith("48")


def test_a_parent_regions_share_says_it_is_a_total() -> None:
    data = _summary([("drop", 1.0, "%", "")], 1)
    assert metric_name(data, "final_share.c").endswith("C (all its regions together)")
    assert metric_name(data, "final_share.p").endswith(": p")
    assert "sent to C" in metric_name(data, "relocated_rigs.c")


def test_the_first_runs_summary_has_no_nan(demo: tuple[list[str], Path]) -> None:
    rows = summary_rows(run_data(demo[1]))
    assert rows and not any("nan" in r["cells"][0] for r in rows)
    assert np.all([r["name"] for r in rows])


def test_every_engine_policy_text_has_its_plain_words() -> None:
    """plain_event rewrites the texts sim/agents/regulators.describe writes: a change there
    must not silently bring the jargon back to a class."""
    from sim.agents.regulators import describe
    from sim.scenario import Announcement, ExchangeBan, Incentive, MiningBan, PoolServiceBan

    where = {"region": "red_country", "date": "2021-03-01"}
    for policy in (MiningBan(kind="mining_ban", hazard_per_day=0.3, **where),
                   Announcement(kind="announcement", risk=0.2, **where),
                   ExchangeBan(kind="exchange_ban", haircut=0.02, **where),
                   PoolServiceBan(kind="pool_service_ban", vpn_leakage=0.3, **where),
                   Incentive(kind="incentive", capacity_mw=10.0, **where)):
        text = describe(policy)
        assert plain_event(policy.kind, text) != text, (policy.kind, text)


def test_generated_texts_name_regions_by_their_label() -> None:
    """A class read 'mining ban in red_country' (the region's id) in the demo and report."""
    labels = {"red_country": "Red Country"}
    assert plain_event("power_outage", "power outage in red_country", None, labels) == \
        "power outage in Red Country"
    assert plain_event("mining_ban", "mining ban in red_country: enforcement hazard 0.3/day",
                       None, labels).startswith("mining ban in Red Country: ")
    assert plain_event("mining_ban", "red_country's own words", None, labels) == \
        "red_country's own words"  # a scenario's description is left as written
