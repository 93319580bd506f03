"""Notes on what a valid scenario says that does nothing, or not on its day: a policy dated
after the end never took effect and one dated years before the start was in force from day 0,
both without a word (a mistyped year reads the same)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from scenario_docs import minimal_doc, to_yaml

import sim
from cli import main
from sim.bundled import bundled_scenarios, resolve
from sim.validation.notes import notes, timeline_findings

# (a purchase starting after the end is refused: its deliveries are moved into the run)
CUT = ["end=2021-06-30", "policies.0.date=2021-04-01", "purchases.0.start=2021-06-01"]


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(to_yaml(minimal_doc()))
    return path


def test_each_dated_item_outside_the_run_is_noted_at_its_line(tmp_path: Path) -> None:
    path = _file(tmp_path)
    scenario = sim.load(path, CUT)
    found = {".".join(map(str, f.path)): f.message for f in timeline_findings(scenario)}
    assert set(found) == {"policies.0.date", "policies.3.date", "pools.0.events.0.date",
                          "pools.0.events.1.date", "facilities.0.capacity.1.date",
                          "facilities.0.orders.0.date"}
    assert "before the start (2021-05-01): in force from the first day" in \
        found["policies.0.date"]
    assert found["policies.3.date"] == ("lift dated 2021-11-01, after the end (2021-06-30): "
                                        "it never takes effect")
    assert found["facilities.0.orders.0.date"].startswith("an order dated 2021-10-15, after")
    located = {i.dotted_path: i for i in notes(path, CUT, scenario)}
    assert located["policies.0.date"].file == "--set policies.0.date=2021-04-01"
    lift = located["policies.3.date"]
    assert lift.file == str(path)
    assert path.read_text().splitlines()[lift.line - 1].strip() == "date: 2021-11-01"


def test_dated_steps_after_the_end_are_noted(tmp_path: Path) -> None:
    """A price step (new in the schema) after the end was as silent as a policy had been."""
    doc = minimal_doc()
    doc["regions"][2]["electricity_schedule"] = [{"date": "2022-06-01", "usd_per_kwh": 0.1}]
    doc["coins"][0]["fees_schedule"] = [{"date": "2022-02-01", "coins": 0.2}]
    found = {".".join(map(str, f.path)): f.message
             for f in timeline_findings(_load(tmp_path, doc))}
    assert found == {
        "regions.2.electricity_schedule.0.date":
            "a step dated 2022-06-01, after the end (2021-12-31): it never takes effect",
        "coins.0.fees_schedule.0.date":
            "a step dated 2022-02-01, after the end (2021-12-31): it never takes effect"}


def test_an_outage_over_before_the_start_does_nothing(tmp_path: Path) -> None:
    doc = minimal_doc()
    doc["policies"].append({"kind": "power_outage", "date": "2021-04-10", "region": "xinjiang",
                            "days": 5})
    (finding,) = timeline_findings(_load(tmp_path, doc))
    assert finding.path == ("policies", 4, "date")
    assert "over before the start (2021-05-01): it does nothing" in finding.message


def _load(tmp_path: Path, doc: dict) -> sim.Scenario:
    path = tmp_path / "d.yaml"
    path.write_text(to_yaml(doc))
    return sim.load(path)


def test_the_bundled_scenarios_have_nothing_to_note() -> None:
    for name in bundled_scenarios():
        assert notes(resolve(name), [], sim.load(name)) == [], name


def test_validate_run_and_backtest_print_the_notes(tmp_path: Path) -> None:
    path = str(_file(tmp_path))
    sets = [arg for expr in CUT for arg in ("--set", expr)]
    result = CliRunner().invoke(main, ["validate", path, *sets])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("ok: ") and len(lines) == 7
    assert all(line.startswith("note: ") for line in lines[1:])
    assert any(f"{path}:" in line and "lift dated 2021-11-01" in line for line in lines)
    for command in (["run", path, "-q"], ["backtest", path]):
        result = CliRunner().invoke(main, [*command, *sets, "-o", str(tmp_path / command[0])])
        assert result.exit_code in (0, 1), result.output  # (a backtest may miss its bands)
        assert "note: " in result.stderr and "lift dated 2021-11-01" in result.stderr
        assert (tmp_path / command[0] / "run.json").is_file()
