"""Validation of scenario files: each broken scenario gives a located, plain message.

The broken scenarios are text edits of the YAML of :func:`scenario_docs.minimal_doc`. An edit
marks the position the issue must point at with ``‸`` (removed before loading), so each case
asserts the exact line and column without hard-coding numbers that shift with the fixture.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from scenario_docs import minimal_doc, to_yaml

from sim.errors import Issue, ScenarioError
from sim.scenario import Scenario
from sim.validation import check_references, did_you_mean, loads, schema_json

MARK = "‸"
BASE = to_yaml(minimal_doc())
ROOT = Path(__file__).resolve().parent.parent

KAZAKHSTAN = "- name: kazakhstan\n  electricity_usd_per_kwh: 0.03\n  carbon_g_per_kwh: 800.0\n"
TEXAS = "- name: texas\n  parent: usa\n  electricity_usd_per_kwh: 0.04\n  carbon_g_per_kwh: 400.0\n"
ETHEREUM = (
    "- name: ethereum\n  rule: tracking\n  subsidy_coins: 2.0\n"
    "  price:\n    kind: constant\n    usd: 2500.0\n"
)
ETHERMINE = "- name: ethermine\n  coin: ethereum\n  fee: 0.01\n"


def edit(*pairs: tuple[str, str]) -> Callable[[str], str]:
    """Replace each ``old`` (which must occur exactly once) by ``new``."""

    def apply(text: str) -> str:
        for old, new in pairs:
            assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
            text = text.replace(old, new)
        return text

    return apply


def marked(text: str) -> tuple[str, int, int]:
    """Remove the one ``‸`` from ``text``; return the text and the mark's 1-based line, column."""
    assert text.count(MARK) == 1
    pos = text.index(MARK)
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return text.replace(MARK, ""), line, col


def issues_of(text: str, overrides: tuple[str, ...] = ()) -> list[Issue]:
    with pytest.raises(ScenarioError) as caught:
        loads(text, "scenario.yaml", overrides)
    assert caught.value.issues, "a ScenarioError must carry issues"
    return caught.value.issues


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[str], str]
    path: str
    words: tuple[str, ...]
    count: int | None = 1  # how many issues in all (None: do not check)
    col: bool = True  # whether the column is meaningful to assert
    overrides: tuple[str, ...] = field(default=())


CASES = [
    Case(
        "unknown_key",
        edit(("hazard_per_day: 0.2", f"{MARK}hazard_per_dya: 0.2")),
        "policies.1.hazard_per_dya",
        ("unknown key 'hazard_per_dya'", "did you mean 'hazard_per_day'?"),
    ),
    Case(
        "unknown_top_level_key",
        edit(("behaviour:\n", f"{MARK}behavior:\n")),
        "behavior",
        ("unknown key 'behavior'", "did you mean 'behaviour'?"),
    ),
    Case(
        "negative_capacity",
        edit(("capacity_mw: 100.0", f"capacity_mw: {MARK}-5")),
        "regions.1.capacity_mw",
        ("expected a number ≥ 0, got -5",),
    ),
    Case(
        "unknown_region_with_suggestion",
        edit(("- region: sichuan", f"- region: {MARK}sichaun")),
        "fleet.0.region",
        ("unknown region 'sichaun'", "did you mean 'sichuan'?"),
    ),
    Case(
        "unknown_region_lists_known",
        edit(("destination: usa", f"destination: {MARK}mars")),
        "routes.0.destination",
        ("unknown region 'mars'", "known regions: china, sichuan, xinjiang, usa, georgia"),
    ),
    Case(
        "end_before_start",
        edit(("end: 2021-12-31\nseed", f"end: {MARK}2021-01-01\nseed")),
        "end",
        ("end (2021-01-01) must be after start (2021-05-01)",),
    ),
    Case(
        "capacity_schedule_out_of_order",
        edit(
            ("  capacity_schedule:", f"  {MARK}capacity_schedule:"),
            ("    mw: 0.0\n", "    mw: 0.0\n  - date: 2021-06-01\n    mw: 5.0\n"),
        ),
        "regions.1.capacity_schedule",
        ("dates must increase", "step 1 (2021-06-01) is not after step 0 (2021-06-20)"),
    ),
    Case(
        "price_step_with_both_kinds",
        edit(("  carbon_g_per_kwh: 900.0\n",
              f"  carbon_g_per_kwh: 900.0\n  electricity_schedule:\n  - {MARK}date: 2021-06-01\n"
              "    usd_per_kwh: 0.05\n    surcharge_usd_per_kwh: 0.01\n")),
        "regions.2.electricity_schedule.0",
        ("exactly one of usd_per_kwh", "surcharge_usd_per_kwh"),
    ),
    Case(
        "price_steps_out_of_order",
        edit(("  carbon_g_per_kwh: 900.0\n",
              f"  carbon_g_per_kwh: 900.0\n  {MARK}electricity_schedule:\n  - date: 2021-09-01\n"
              "    usd_per_kwh: 0.05\n  - date: 2021-06-01\n    usd_per_kwh: 0.06\n")),
        "regions.2.electricity_schedule",
        ("dates must increase", "step 1 (2021-06-01) is not after step 0 (2021-09-01)"),
    ),
    Case(
        "price_rebate_above_the_price",
        edit(("- name: xinjiang\n", f"- {MARK}name: xinjiang\n"),
             ("  carbon_g_per_kwh: 900.0\n",
              "  carbon_g_per_kwh: 900.0\n  electricity_schedule:\n  - date: 2021-06-01\n"
              "    surcharge_usd_per_kwh: -0.05\n")),
        "regions.2",
        ("step 0 (2021-06-01)", "rebate of 0.05 USD/kWh is more than the usual price (0.04",
         "set usd_per_kwh instead"),
    ),
    Case(
        "table_price_out_of_order",
        edit(("    points:", f"    {MARK}points:"), ("date: 2021-07-01", "date: 2021-04-01")),
        "coins.0.price.points",
        ("dates must increase", "point 1 (2021-04-01) is not after point 0"),
    ),
    Case(
        "pool_events_out_of_order",
        edit(("date: 2021-09-30", f"date: {MARK}2021-09-01")),
        "pools.0.events.1.date",
        ("date order", "2021-09-01 is before the previous event (2021-09-24)"),
    ),
    Case(
        "unreachable_destination",
        edit(
            ("routes:\n", KAZAKHSTAN + "routes:\n"),
            ("  - usa\n", f"  - usa\n  - {MARK}kazakhstan\n"),
        ),
        "behaviour.destinations.1",
        ("destination 'kazakhstan' cannot be reached", "add a route to 'kazakhstan'"),
    ),
    Case(
        "rigs_with_nowhere_to_go",
        edit(
            ("origin: china", "origin: sichuan"),
            ("region: xinjiang\n  hazard", f"region: {MARK}xinjiang\n  hazard"),
        ),
        "policies.1.region",
        ("rigs in 'xinjiang' have nowhere to go", "add a route from 'xinjiang' (or a parent)"),
    ),
    Case(
        "wrong_type",
        edit(("rigs: 20000", f"rigs: {MARK}many")),
        "fleet.0.rigs",
        ("expected a whole number, got 'many'",),
    ),
    Case(
        "unknown_discriminator",
        edit(("kind: mining_ban", f"kind: {MARK}mining_bann")),
        "policies.1.kind",
        (
            "unknown kind 'mining_bann'",
            "expected one of 'announcement'",
            "did you mean 'mining_ban'?",
        ),
    ),
    Case(
        "wait_and_see_without_a_length",
        edit(("- kind: announcement", f"- {MARK}kind: announcement"),
             ("  risk: 0.5\n", "  risk: 0.5\n  suspend_rate_per_day: 0.1\n")),
        "policies.0",
        ("suspend_rate_per_day needs suspend_days",),
    ),
    Case(
        "partial_outage_without_a_length",
        edit(("- kind: power_cutoff", f"- {MARK}kind: power_outage"),
             ("  region: sichuan\n", "  region: sichuan\n  share: 0.3\n")),
        "policies.2",
        ("a partial outage (share below 1) needs days",),
    ),
    Case(
        "unknown_transit_distribution",
        edit(("distribution: lognormal", f"distribution: {MARK}lognormall")),
        "routes.0.transit.distribution",
        ("unknown distribution 'lognormall'", "did you mean 'lognormal'?"),
    ),
    Case(
        "missing_required_field",
        edit(("- name: bitcoin", f"- {MARK}name: bitcoin"), ("  subsidy_coins: 6.25\n", "")),
        "coins.0.subsidy_coins",
        ("missing required field 'subsidy_coins'",),
    ),
    Case(
        "missing_discriminator",
        edit(("  price:\n    kind: table\n", f"  {MARK}price:\n")),
        "coins.0.price.kind",
        ("missing required field 'kind'", "'constant', 'table', 'gbm'"),
    ),
    Case(
        "literal_with_suggestion",
        edit(("rule: bitcoin", f"rule: {MARK}bitcon")),
        "coins.0.rule",
        ("expected one of 'bitcoin', 'tracking', got 'bitcon'", "did you mean 'bitcoin'?"),
    ),
    Case(
        "pool_hardware_coin_mismatch",
        edit(
            ("\nregions:\n", "\n" + ETHEREUM + "regions:\n"),
            ("fleet:\n", ETHERMINE + "fleet:\n"),
            ("pool: f2pool\n- region: xinjiang", f"pool: {MARK}ethermine\n- region: xinjiang"),
        ),
        "fleet.0.pool",
        ("pool 'ethermine' mines 'ethereum' but hardware 's19_pro' mines 'bitcoin'",),
    ),
    Case(
        "parent_cycle",
        edit(("- name: china\n", f"- name: china\n  parent: {MARK}sichuan\n")),
        "regions.0.parent",
        ("parent chain loops: china → sichuan → china",),
        count=None,
    ),
    Case(
        "rigs_in_a_parent_region",
        edit(("- region: sichuan", f"- region: {MARK}china")),
        "fleet.0.region",
        ("region 'china' contains other regions (sichuan, xinjiang)",),
        count=None,
    ),
    Case(
        "lift_of_unknown_policy",
        edit(("policy: sichuan_cut", f"policy: {MARK}sichuan_cutt")),
        "policies.3.policy",
        ("no policy has the id 'sichuan_cutt'", "did you mean 'sichuan_cut'?"),
    ),
    Case(
        "lift_before_its_policy",
        edit(("date: 2021-11-01\n  policy", f"date: {MARK}2021-06-01\n  policy")),
        "policies.3.date",
        ("before the policy 'sichuan_cut'", "(2021-06-20)"),
    ),
    Case(
        "second_lift_of_one_policy",
        edit(("  policy: sichuan_cut\n",
              "  policy: sichuan_cut\n- kind: lift\n  date: 2021-12-01\n"
              f"  policy: {MARK}sichuan_cut\n")),
        "policies.4.policy",
        ("policy 'sichuan_cut' is already lifted by policies.3 (2021-11-01)",
         "would end nothing", "add a new policy with its own id"),
    ),
    Case(
        "fleet_power_above_region_capacity",
        edit(("rigs: 20000", "rigs: 40000"), ("capacity_mw: 100.0", f"capacity_mw: {MARK}100.0")),
        "regions.1.capacity_mw",
        ("draws 130 MW (fleet.0)", "more than capacity_mw (100 MW)"),
    ),
    Case(
        "fleet_power_above_facility_capacity",
        edit(("rigs: 900", "rigs: 1000"), ("    mw: 3.0", f"    mw: {MARK}3.0")),
        "facilities.0.capacity.0.mw",
        ("draws 3.25 MW (fleet.2)", "more than the first capacity step (3 MW)"),
    ),
    Case(
        "facility_in_another_region",
        edit(
            ("routes:\n", TEXAS + "routes:\n"),
            (
                "- region: georgia\n  hardware: s19_pro\n  rigs: 900",
                "- region: texas\n  hardware: s19_pro\n  rigs: 900",
            ),
            ("facility: georgia_dc", f"facility: {MARK}georgia_dc"),
        ),
        "fleet.2.facility",
        ("facility 'georgia_dc' is in region 'georgia', not in 'texas'",),
    ),
    Case(
        "duplicate_policy_id",
        edit(
            ("id: sichuan_cut", f"id: {MARK}sichuan_cut"), ("id: xinjiang_ban", "id: sichuan_cut")
        ),
        "policies.2.id",
        ("duplicate policy id 'sichuan_cut' (also policies.1)",),
    ),
    Case(
        "purchase_after_the_end",
        edit(
            ("start: 2021-07-01", f"start: {MARK}2022-03-01"),
            ("  end: 2021-12-31\n  rigs", "  end: 2022-06-01\n  rigs"),
        ),
        "purchases.0.start",
        ("starts on 2022-03-01, after the scenario ends (2021-12-31)",),
    ),
    Case(
        "negative_pool_weight",
        edit(("    f2pool: 0.7", f"    f2pool: {MARK}-0.7")),
        "fleet.1.pool.f2pool",
        ("expected a number > 0, got -0.7",),
    ),
    Case(
        "pool_neither_name_nor_mapping",
        edit(("pool: f2pool\n- region: xinjiang", f"pool: {MARK}5\n- region: xinjiang")),
        "fleet.0.pool",
        ("expected text or a mapping, got 5",),
    ),
    Case(
        "unknown_pool_in_weights",
        edit(("    foundry: 0.3", f"    {MARK}foundri: 0.3")),
        "fleet.1.pool.foundri",
        ("unknown pool 'foundri'", "did you mean 'foundry'?"),
    ),
    Case(
        "unknown_region_in_an_observed_check",
        edit(("name: sichuan\n    date", f"name: {MARK}sichuan_\n    date")),
        "observed.checks.0.name",
        ("unknown region 'sichuan_'", "did you mean 'sichuan'?"),
    ),
    Case(
        "unknown_check_metric",
        edit(("metric: region_share", f"metric: {MARK}region_shares")),
        "observed.checks.0.metric",
        ("unknown metric 'region_shares'", "did you mean 'region_share'?"),
    ),
    Case(
        "impossible_date",
        edit(("release: 2020-05-01", f"release: {MARK}2021-13-01")),
        "hardware.0.release",
        ("expected a date YYYY-MM-DD, got '2021-13-01'", "month"),
    ),
    Case(
        "number_as_date",
        edit(("release: 2020-05-01", f"release: {MARK}0")),
        "hardware.0.release",
        ("expected a date YYYY-MM-DD, got 0",),
    ),
    Case(
        "name_that_is_a_number",
        edit(("name: minimal", f"name: {MARK}2021")),
        "name",
        ("expected text, got 2021", "quote it"),
    ),
    Case(
        "huge_number",
        edit(("rigs: 20000", f"rigs: {MARK}1e400")),
        "fleet.0.rigs",
        ("expected a finite number, got inf",),
    ),
    Case(
        "too_many_rigs",
        edit(("rigs: 20000", f"rigs: {MARK}{10**30}")),
        "fleet.0.rigs",
        ("expected a whole number ≤ 1000000000",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_scenario(case: Case) -> None:
    text, line, col = marked(case.change(BASE))
    issues = issues_of(text, case.overrides)
    matching = [i for i in issues if i.dotted_path == case.path]
    assert matching, f"no issue at {case.path}: {[str(i) for i in issues]}"
    issue = matching[0]
    assert issue.file == "scenario.yaml"
    assert issue.line == line, str(issue)
    if case.col:
        assert issue.col == col, str(issue)
    for words in case.words:
        assert words in issue.message
    if case.count is not None:
        assert len(issues) == case.count, [str(i) for i in issues]


def test_the_fixture_is_valid() -> None:
    scenario = loads(BASE)
    assert isinstance(scenario, Scenario)
    assert scenario.fleet[1].pool == {"f2pool": 0.7, "foundry": 0.3}
    assert check_references(scenario) == []


def test_issue_text_is_file_line_col_path_message() -> None:
    text, line, col = marked(edit(("capacity_mw: 100.0", f"capacity_mw: {MARK}-5"))(BASE))
    (issue,) = issues_of(text)
    assert str(issue) == f"scenario.yaml:{line}:{col}: regions.1.capacity_mw: " + issue.message


def test_every_issue_is_reported_not_only_the_first() -> None:
    text = edit(
        ("capacity_mw: 100.0", "capacity_mw: -5"),
        ("rule: bitcoin", "rule: bitcon"),
        ("hazard_per_day: 0.2", "hazard_per_dya: 0.2"),
    )(BASE)
    paths = {i.dotted_path for i in issues_of(text)}
    assert paths == {"regions.1.capacity_mw", "coins.0.rule", "policies.1.hazard_per_dya"}


def test_issues_come_in_file_order() -> None:
    text = edit(("hazard_per_day: 0.2", "hazard_per_dya: 0.2"), ("rule: bitcoin", "rule: x"))(BASE)
    lines = [i.line or 0 for i in issues_of(text)]
    assert lines == sorted(lines)


S9 = "- name: s9\n  coin: bitcoin\n  hashrate_hs: 1.4e13\n  power_w: 1372\n"
ROUTE_KZ = (
    "- origin: kazakhstan\n  destination: georgia\n  bidirectional: true\n"
    "  transit: {distribution: fixed, days: 10}\n"
)


def test_duplicate_names() -> None:
    second = S9.replace("name: s9", f"name: {MARK}s9")
    text, line, col = marked(edit(("\npools:\n", f"\n{S9}{second}pools:\n"))(BASE))
    (issue,) = issues_of(text)
    assert (issue.dotted_path, issue.line, issue.col) == ("hardware.2.name", line, col)
    assert "duplicate hardware model name 's9' (also hardware.1)" in issue.message


def test_a_wrong_parent_is_not_echoed_by_route_checks() -> None:
    change = edit(
        (
            "  parent: china\n  electricity_usd_per_kwh: 0.03",
            "  parent: chian\n  electricity_usd_per_kwh: 0.03",
        )
    )
    assert [i.dotted_path for i in issues_of(change(BASE))] == ["regions.1.parent"]


# ---------------------------------------------------------------------------- what stays allowed


@pytest.mark.parametrize(
    "change",
    [
        edit(("date: 2021-11-01\n  policy", "date: 2022-11-01\n  policy")),
        edit(("date: 2021-11-01\n  policy", "date: 2021-06-20\n  policy")),
        edit(("date: 2021-06-09", "date: 2023-01-01")),
        edit(
            ("kind: stop_service\n    date: 2021-09-30", "kind: stop_service\n    date: 2021-09-24")
        ),
        edit(("  end: 2021-12-31\n  rigs", "  end: 2022-06-01\n  rigs")),
        edit(
            ("start: 2021-07-01", "start: 2021-12-31"),
            ("  end: 2021-12-31\n  rigs", "  end: 2022-01-31\n  rigs"),
        ),
    ],
    ids=[
        "lift_after_end",
        "lift_on_the_policy_day",
        "policy_after_end",
        "pool_events_same_day",
        "purchase_ending_after_end",
        "purchase_starting_on_the_last_day",
    ],
)
def test_not_over_restricted(change: Callable[[str], str]) -> None:
    assert isinstance(loads(change(BASE)), Scenario)


def test_shutdown_winding_down_before_start_or_after_end_is_fine() -> None:
    for date in ("2021-05-02", "2022-03-01"):
        shutdown = f"  events:\n  - kind: shutdown\n    date: {date}\n    wind_down_days: 30\n"
        change = edit(("  home_region: usa\n", "  home_region: usa\n" + shutdown))
        assert isinstance(loads(change(BASE)), Scenario)


def test_bidirectional_route_and_parent_routes_reach_descendants() -> None:
    text = edit(
        ("routes:\n", KAZAKHSTAN + "routes:\n"),
        ("  cost_usd_per_rig: 150.0\n", "  cost_usd_per_rig: 150.0\n" + ROUTE_KZ),
        ("  - usa\n", "  - usa\n  - kazakhstan\n"),
    )(BASE)
    assert isinstance(loads(text), Scenario)


# ---------------------------------------------------------------------------- --set


def test_overrides_change_values() -> None:
    scenario = loads(
        BASE,
        overrides=[
            "behaviour.horizon_days=90",
            "policies.1.hazard_per_day=0.3",
            "coins.0.price.points.1.usd=40000",
            "regions.sichuan.capacity_mw=200",
            "policies.sichuan_cut.date=2021-06-21",
            "behaviour.destinations=[usa, georgia]",
            "seed=null",
            "behaviour.pool_choice.fee=10",
        ],
    )
    assert scenario.behaviour.horizon_days == 90
    assert scenario.policies[1].hazard_per_day == 0.3  # type: ignore[union-attr]
    assert scenario.coins[0].price.points[1].usd == 40000  # type: ignore[union-attr]
    assert scenario.regions[1].capacity_mw == 200
    assert scenario.policies[2].date == dt.date(2021, 6, 21)
    assert scenario.behaviour.destinations == ["usa", "georgia"]
    assert scenario.seed is None
    assert scenario.behaviour.pool_choice.fee == 10


@pytest.mark.parametrize(
    ("expr", "path", "words"),
    [
        ("behaviour.horizon_days=-5", "behaviour.horizon_days", "expected a number > 0, got -5"),
        (
            "regions.sichuan.capacity_mw=10",
            "regions.1.capacity_mw",
            "more than capacity_mw (10 MW)",
        ),
        ("behavior.horizon_days=3", "behavior", "did you mean 'behaviour'?"),
        ("coins.0.price={kind: constant}", "coins.0.price.usd", "missing required field 'usd'"),
        ("end=2021-01-01", "end", "must be after start"),
        ("fleet.0.pool=f2pol", "fleet.0.pool", "did you mean 'f2pool'?"),
    ],
)
def test_issues_from_an_override_point_at_it(expr: str, path: str, words: str) -> None:
    issues = issues_of(BASE, (expr,))
    (issue,) = [i for i in issues if i.dotted_path == path]
    assert issue.file == f"--set {expr}" and issue.line is None
    assert words in issue.message
    assert str(issue).startswith(f"--set {expr}: {path}: ")


@pytest.mark.parametrize(
    ("expr", "path", "words"),
    [
        ("behaviour.horizon_days", "behaviour.horizon_days", "expected PATH=VALUE"),
        ("=5", "=5", "expected PATH=VALUE"),
        ("behaviour..x=5", "behaviour..x=5", "expected PATH=VALUE"),
        ("regions.sichuan.capacity_mw=[1", "regions.sichuan.capacity_mw", "cannot read the value"),
        (
            "regions.sichuuan.capacity_mw=1",
            "regions.sichuuan.capacity_mw",
            "did you mean 'sichuan'?",
        ),
        ("policies.9.date=2021-06-01", "policies.9.date", "index 9 is out of range"),
        ("policies.4=null", "policies.4", "'policies' has 4 item(s)"),
        ("name.first=x", "name.first", "'name' is a single value"),
        ("name=!!python/object:os.system {}", "name", "not allowed"),
    ],
)
def test_bad_overrides(expr: str, path: str, words: str) -> None:
    issues = issues_of(BASE, (expr,))
    (issue,) = [i for i in issues if i.file == "--set"]
    assert issue.dotted_path == path and issue.line is None
    assert words in issue.message
    assert str(issue).startswith(f"--set: {path}: ")


def test_bad_overrides_are_all_reported_with_file_issues() -> None:
    text = edit(("capacity_mw: 100.0", "capacity_mw: -5"))(BASE)
    issues = issues_of(text, ("nope", "policies.7.date=2021-01-01", "behaviour.horizon_days=90"))
    assert [i.file for i in issues] == ["--set", "--set", "scenario.yaml"]


# ---------------------------------------------------------------------------- helpers


def test_did_you_mean() -> None:
    assert did_you_mean("hazard_per_dya", ["hazard_per_day", "ramp_days"]) == (
        "did you mean 'hazard_per_day'?"
    )
    assert did_you_mean("Sichuan", ["sichuan", "xinjiang"]) == "did you mean 'sichuan'?"
    assert did_you_mean("zzz", ["sichuan", "xinjiang"]) == ""
    assert did_you_mean("x", []) == ""


def test_check_references_returns_paths_and_messages() -> None:
    doc = minimal_doc()
    doc["fleet"][0]["region"] = "sichaun"
    doc["policies"][3]["policy"] = "nothing"
    scenario = Scenario.model_validate(doc)
    problems = check_references(scenario)
    assert [p for p, _ in problems] == [("fleet", 0, "region"), ("policies", 3, "policy")]
    assert "did you mean 'sichuan'?" in problems[0][1]


def test_schema_json_is_sorted_json_with_a_newline() -> None:
    text = schema_json()
    assert text.endswith("}\n") and '"$schema"' in text and '"Scenario"' in text


def test_committed_schema_matches_the_models() -> None:
    committed = (ROOT / "schema" / "scenario.schema.json").read_text(encoding="utf-8")
    assert committed == schema_json(), "schema drifted: run python scripts/update_schema.py"


def test_rigs_must_start_in_a_pool_that_serves_their_region() -> None:
    doc = minimal_doc()
    doc["pools"][1]["regions"] = ["usa", "xinjiang"]  # foundry: where its rigs are
    loads(to_yaml(doc))  # xinjiang's rigs and georgia's facility order are served
    doc["pools"][1]["regions"] = ["georgia"]
    with pytest.raises(ScenarioError) as err:
        loads(to_yaml(doc), "s.yaml")
    issues = [i for i in err.value.issues if "does not serve region 'xinjiang'" in i.message]
    assert len(issues) == 1
    assert issues[0].dotted_path == "fleet.1.pool.foundry" and issues[0].line is not None


def test_more_pools_than_the_tally_can_index_is_a_located_error() -> None:
    # The fleet's tally packs a pool's index into 12 bits: 4,095 pools at most.
    pools = "".join(f"- name: extra{i}\n  coin: bitcoin\n  fee: 0.01\n" for i in range(4095))
    text = BASE.replace("pools:\n", "pools:\n" + pools, 1)
    issues = issues_of(text, ())
    assert [i.dotted_path for i in issues] == ["pools"], [str(i) for i in issues]
    assert "at most 4095" in issues[0].message
