"""QA pass 3, scenario authoring: mistakes a researcher makes writing a new scenario from
docs/scenario-format.md are refused at their line with a fix, never silently run; the generated
page states every bound; `sim.load` takes the overrides a notebook user passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from scenario_docs import minimal_doc, to_yaml

import sim
from sim.errors import Issue, ScenarioError
from sim.results import ArgumentTypeError
from sim.schema_docs import render
from sim.validation import loads

D = dt.date


def issues_of(doc: dict[str, Any]) -> tuple[str, list[Issue]]:
    text = to_yaml(doc)
    with pytest.raises(ScenarioError) as caught:
        loads(text, "s.yaml")
    return text, caught.value.issues


def only_issue(doc: dict[str, Any], path: str) -> tuple[str, Issue]:
    text, issues = issues_of(doc)
    assert [".".join(map(str, i.path)) for i in issues] == [path], issues
    return text, issues[0]


def line_of(text: str, snippet: str, nth: int = 0) -> int:
    """1-based line of the ``nth`` occurrence of ``snippet``."""
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(snippet, pos + 1)
    return text.count("\n", 0, pos) + 1


def changed(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = minimal_doc()
    change(doc)
    return doc


# ---------------------------------------------------------------------------- silent no-ops


@pytest.mark.parametrize("section", ["fleet", "purchases"])
def test_an_empty_pool_mapping_is_refused_not_a_loss_of_rigs(section: str) -> None:
    # `pool: {}` used to load, and the entry's rigs vanished from the run
    doc = changed(lambda d: d[section][0].update(pool={}))
    text, issue = only_issue(doc, f"{section}.0.pool")
    assert "an empty mapping names no pool" in issue.message
    assert issue.line == line_of(text, "pool: {}")


@pytest.mark.parametrize(("change", "path", "help_text"), [
    (lambda d: d["pools"][1].update(regions=[]), "pools.1.regions", "null = all"),
    (lambda d: d["pools"][0]["events"][1].update(regions=[]), "pools.0.events.1.regions",
     "null = everywhere"),
    (lambda d: d["policies"].append({"kind": "pool_service_ban", "date": D(2021, 6, 1),
                                     "region": "china", "pools": []}),
     "policies.4.pools", "null = all"),
])
def test_an_empty_list_where_null_means_all_is_refused(change: Callable[[dict[str, Any]], None],
                                                       path: str, help_text: str) -> None:
    # `regions: []` used to mean "serves nowhere" or "stops nowhere", silently; the pool one
    # then produced "does not serve region ... (it serves )"
    _, issue = only_issue(changed(change), path)
    assert "got an empty list" in issue.message and help_text in issue.message


def test_a_route_from_a_region_to_itself_is_refused() -> None:
    def to_itself(d: dict[str, Any]) -> None:
        d["routes"].append({"origin": "usa", "destination": "usa",  # a parent: fine
                            "transit": {"distribution": "fixed", "days": 2.0}})
        d["routes"].append({"origin": "georgia", "destination": "georgia",
                            "transit": {"distribution": "fixed", "days": 2.0}})

    text, issue = only_issue(changed(to_itself), "routes.2.destination")
    assert "from 'georgia' to itself and moves no rig" in issue.message
    assert issue.line == line_of(text, "destination: georgia")


def test_a_facility_opening_after_the_start_needs_a_first_step_at_the_start() -> None:
    # the first step applies from the start whatever its date: a later date was ignored
    doc = changed(lambda d: d["facilities"][0]["capacity"][0].update(date=D(2021, 6, 1)))
    text, issue = only_issue(doc, "facilities.0.capacity.0.date")
    assert "(2021-06-01) is after the start (2021-05-01)" in issue.message
    assert "{date: 2021-05-01, mw: 0}" in issue.message
    assert issue.line == line_of(text, "date: 2021-06-01")
    early = changed(lambda d: d["facilities"][0]["capacity"][0].update(date=D(2020, 1, 1)))
    assert loads(to_yaml(early)).facilities[0].capacity[0].date == D(2020, 1, 1)


def _lift_first(lift_date: dt.date, cut_date: dt.date) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        lift = d["policies"].pop(3)
        lift["date"] = lift_date
        d["policies"][2]["date"] = cut_date
        d["policies"].insert(2, lift)

    return change


@pytest.mark.parametrize(("lift_date", "cut_date", "when"), [
    (D(2021, 6, 20), D(2021, 6, 20), "2021-06-20"),
    (D(2021, 3, 1), D(2021, 1, 1), "2021-05-01 (the start)"),  # both before the start
])
def test_a_lift_listed_before_its_policy_on_the_same_day_is_refused(
        lift_date: dt.date, cut_date: dt.date, when: str) -> None:
    # policies of one day apply in file order: the lift ran first, ended nothing, and the
    # cut-off then stayed in force to the end
    text, issue = only_issue(changed(_lift_first(lift_date, cut_date)), "policies.2")
    assert f"'sichuan_cut' it ends (policies.3) both take effect on {when}" in issue.message
    assert "list it after the policy" in issue.message
    assert issue.line == line_of(text, "kind: lift")


def test_a_lift_listed_first_but_due_later_is_fine() -> None:
    doc = changed(_lift_first(D(2021, 11, 1), D(2021, 6, 20)))
    assert [p.kind for p in loads(to_yaml(doc)).policies][2:] == ["lift", "power_cutoff"]


# ---------------------------------------------------------------------------- the generated page


def test_the_format_page_gives_bounds_of_optional_and_list_fields() -> None:
    page = render()
    for row in ["| `capacity_mw` | float or null | `null` | ≥ 0.0 |",
                "| `initial_difficulty` | float or null | `null` | > 0.0 |",
                "| `capacity_rigs_per_day` | float or null | `null` | > 0.0 |",
                "| `electricity_monthly_usd_per_kwh` | list of float or null | `null` | exactly "
                "12 items, each ≥ 0.0, each ≤ 1000.0 |",
                "| `pool` | str or mapping str → float | **required** | weights > 0.0 |",
                "| `regions` | list of str or null | `null` | at least 1 item | regions served",
                "| `fleet` | list of FleetEntry | **required** | at least 1 item |"]:
        assert row in page, row


def test_the_format_page_says_what_references_and_release_mean() -> None:
    page = render()
    assert "| `region` | str | **required** |  | where the rigs are (a region without" in page
    assert "| `coin` | str | **required** |  | the coin it mines |" in page
    assert "the model does not use it" in page  # hardware.release
    # a section's docstring of two lines is not cut in the middle of its sentence
    assert "held at the first point's price before it and at the last point's after it." in page


# ---------------------------------------------------------------------------- the Python API


def test_load_takes_none_for_no_overrides(tmp_path: Any) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(to_yaml(minimal_doc()))
    assert sim.load(path, overrides=None).end == D(2021, 12, 31)


def test_load_refuses_a_mapping_of_overrides_with_the_way_to_write_them(tmp_path: Any) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(to_yaml(minimal_doc()))
    with pytest.raises(ArgumentTypeError, match=r"not dict \(write \['end=\.\.\.'\]\)"):
        sim.load(path, overrides={"end": "2021-06-30"})  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="not int"):
        sim.load(path, overrides=5)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- observed checks


@pytest.mark.parametrize(("check", "words"), [
    ({"metric": "trough", "window_start": D(2021, 9, 1), "window_end": D(2021, 7, 1)},
     "window_end (2021-07-01) is before window_start (2021-09-01); swap them"),
    ({"metric": "trough", "window_start": D(2021, 6, 1), "window_end": D(2021, 9, 1),
      "date_low": D(2021, 8, 1), "date_high": D(2021, 7, 1)},
     "date_high (2021-07-01) is before date_low (2021-08-01)"),
    ({"metric": "recovery", "reference": D(2021, 5, 10), "after": D(2021, 7, 1),
      "date_low": D(2021, 10, 1), "date_high": D(2021, 9, 1)},
     "date_high (2021-09-01) is before date_low (2021-10-01)"),
    ({"metric": "hashrate_change", "start": D(2021, 9, 1), "end": D(2021, 6, 1), "value": -50.0},
     "end (2021-06-01) is before start (2021-09-01)"),
])
def test_a_reversed_window_of_an_observed_check_is_refused(check: dict[str, Any],
                                                           words: str) -> None:
    # they used to load, and the backtest then reported a failed band (or no value) for them
    doc = changed(lambda d: d["observed"]["checks"].append(check))
    text, issue = only_issue(doc, "observed.checks.1")
    assert words in issue.message
    assert issue.line == line_of(text, "metric: ", nth=1)
