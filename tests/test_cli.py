"""The command line through click's runner: run, rerun, overrides, refusals, listings."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main

SHORT = ["--set", "end=2021-05-31"]  # the tutorial through its ban, in a fraction of a second


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.csv"))}


def test_run_writes_every_result_file_and_a_summary(tmp_path: Path) -> None:
    code, out, err = invoke("run", "tutorial", "-o", str(tmp_path / "r"), "--seed", "1", *SHORT)
    assert code == 0, err
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert names == {"network.csv", "regions.csv", "pools.csv", "facilities.csv", "flows.csv",
                     "decisions.csv",
                     "events.csv", "summary.csv", "run.json"}
    assert "trough (7-day mean)" in out and "EH/s" in out and "final shares" in out
    # who earned what, largest first (summary.csv's revenue.<region>, in M USD)
    line = next(x for x in out.splitlines() if x.strip().startswith("revenue ("))
    summary = pd.read_csv(tmp_path / "r" / "summary.csv").set_index("metric")["value"]
    top = summary[summary.index.str.startswith("revenue.")].sort_values(ascending=False)
    assert line.split()[:3] == ["revenue", "(M", "USD)"]
    assert line.split()[3] == top.index[0].split(".", 1)[1]
    assert float(line.split()[4].rstrip(",")) == pytest.approx(top.iloc[0] / 1e6, abs=0.05)
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["seed"] == 1 and run["replicates"] == 1
    assert run["scenario"]["end"] == "2021-05-31"
    assert {"scenario_hash", "versions", "command", "wall_time_s"} <= set(run)


def test_run_printout_keeps_each_region_beside_its_revenue(tmp_path: Path) -> None:
    """The revenue line of a world with long region names wrapped between a region and its
    figure (china-2021: "… 216.3, russia" / "195.6, rest_of_china 193.0")."""
    code, out, err = invoke("run", "china-2021", "--set", "end=2021-05-15", "-o",
                            str(tmp_path / "c"))
    assert code == 0, err
    lines = out.splitlines()
    start = next(i for i, x in enumerate(lines) if x.strip().startswith("revenue ("))
    block = [lines[start][26:]] + [x[26:] for x in lines[start + 1:] if x.startswith(" " * 26)]
    assert len(block) > 1  # (wrapped)
    items = [item for line in block for item in line.rstrip(",").split(", ")]
    assert len(items) == 6 and all(len(item.split(" ")) == 2 for item in items), block


def test_summary_lines_wrap_between_items_only() -> None:
    """The decisions line split a count from its label where it wrapped (china-2021:
    "387,775" / "relocated", "went" / "underground"); items now stay whole."""
    from cli import _wrap_items

    items = ["3,661,155 hibernated", "662,604 went underground", "467,198 retired",
             "387,775 relocated", "306,628 left early", "245,711 sold abroad"]
    for width in range(60, 101, 7):
        lines = _wrap_items("decisions (rigs)", items, width).splitlines()
        assert len(lines) > 1 and lines[0].startswith("  decisions (rigs)        ")
        assert all(len(line) <= width for line in lines)
        body = [line[26:] for line in lines]
        assert [i for line in body for i in line.rstrip(",").split(", ")] == items, body


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert invoke("run", "tutorial", "-o", str(tmp_path / name), "--seed", "42", *SHORT,
                      "-q")[0] == 0
    assert files(tmp_path / "a") == files(tmp_path / "b")
    invoke("run", "tutorial", "-o", str(tmp_path / "c"), "--seed", "43", *SHORT, "-q")
    assert files(tmp_path / "a")["network.csv"] != files(tmp_path / "c")["network.csv"]


def test_drawn_seed_is_recorded_and_from_run_json_repeats_exactly(tmp_path: Path) -> None:
    assert invoke("run", "tutorial", "-o", str(tmp_path / "a"), *SHORT, "-r", "2", "-q")[0] == 0
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert isinstance(run["seed"], int) and run["replicates"] == 2
    code, _, err = invoke("run", "--from", str(tmp_path / "a" / "run.json"), "-o",
                          str(tmp_path / "b"), "-q")
    assert code == 0, err
    assert files(tmp_path / "a") == files(tmp_path / "b")


def test_replicates_share_the_files(tmp_path: Path) -> None:
    import pandas as pd

    assert invoke("run", "tutorial", "-o", str(tmp_path / "r"), "-r", "3", "--seed", "5",
                  *SHORT, "-q")[0] == 0
    net = pd.read_csv(tmp_path / "r" / "network.csv")
    assert sorted(net["replicate"].unique()) == [0, 1, 2]
    per_rep = net.groupby("replicate")["hashrate_hs"].sum()
    assert per_rep.nunique() == 3  # replicates differ


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "r"
    assert invoke("run", "tutorial", "-o", str(target), *SHORT, "-q")[0] == 0
    (target / "keep.txt").write_text("mine")  # (a previous run's folder, a file added to it)
    code, _, err = invoke("run", "tutorial", "-o", str(target), *SHORT, "-q")
    assert code == 2 and "--force" in err
    assert (target / "keep.txt").read_text() == "mine"
    assert invoke("run", "tutorial", "-o", str(target), *SHORT, "-q", "--force")[0] == 0
    assert not (target / "keep.txt").exists() and (target / "network.csv").exists()
    # a folder that is not hashsim's is never replaced (tests/test_output_safety.py)


def test_set_overrides_are_validated_and_nothing_is_written(tmp_path: Path) -> None:
    code, _, err = invoke("run", "tutorial", "-o", str(tmp_path / "r"), "--set",
                          "behaviour.horizon_days=-5", "-q")
    assert code == 3
    assert "horizon_days" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
    assert list(tmp_path.iterdir()) == []
    code, _, _ = invoke("run", "tutorial", "-o", str(tmp_path / "r"), "--seed", "1", *SHORT,
                        "--set", "behaviour.horizon_days=90", "-q")
    assert code == 0
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["scenario"]["behaviour"]["horizon_days"] == 90


def test_invalid_scenario_exit_3_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path("scenarios/tutorial.yaml").read_text().replace(
        "hazard_per_day: 0.05", "hazard_per_dya: 0.05"))
    code, _, err = invoke("run", str(bad), "-o", str(tmp_path / "r"))
    assert code == 3
    assert "bad.yaml:" in err and "hazard_per_day" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
    code, _, err = invoke("validate", str(bad))
    assert code == 3 and "did you mean" in err


def test_usage_errors(tmp_path: Path) -> None:
    assert invoke("run")[0] == 2
    code, _, err = invoke("run", "tutorial", "--from", "x.json")
    assert code == 2 and "--from" in err
    code, _, err = invoke("run", "--from", str(tmp_path / "missing.json"))
    assert code != 0 and "no such file" in err
    (tmp_path / "junk.json").write_text("{not json")
    code, _, err = invoke("run", "--from", str(tmp_path / "junk.json"))
    assert code != 0 and "run.json" in err and "Traceback" not in err


def test_validate_schema_and_scenarios() -> None:
    code, out, _ = invoke("validate", "scenarios/tutorial.yaml")
    assert code == 0 and out.startswith("ok: scenarios/tutorial.yaml")
    code, out, _ = invoke("schema")
    schema = json.loads(out)
    assert code == 0 and "coins" in schema["properties"]
    code, out, _ = invoke("scenarios")
    assert code == 0 and any(line.startswith("tutorial ") for line in out.splitlines())


@pytest.mark.parametrize("name", ["tutorial.yaml"])
def test_bundled_scenarios_name_their_schema(name: str) -> None:
    first = Path("scenarios", name).read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schema/scenario.schema.json"


def test_rig_flag_runs_rig_by_rig_and_is_recorded(tmp_path: Path) -> None:
    code, _, err = invoke("run", "tutorial", "--rig", "-o", str(tmp_path / "r"), "--seed", "2",
                          *SHORT, "-q")
    assert code == 0, err
    recorded = json.loads((tmp_path / "r" / "run.json").read_text())
    assert recorded["scenario"]["resolution"] == "rig"
    # a repeat from run.json is rig by rig again, and the flag cannot be added to it
    code, _, err = invoke("run", "--from", str(tmp_path / "r" / "run.json"), "--rig",
                          "-o", str(tmp_path / "again"), "-q")
    assert code == 2 and "--rig" in err and not (tmp_path / "again").exists()
    code, _, err = invoke("run", "--from", str(tmp_path / "r" / "run.json"),
                          "-o", str(tmp_path / "again"), "-q")
    assert code == 0, err
    assert ((tmp_path / "again" / "network.csv").read_bytes()
            == (tmp_path / "r" / "network.csv").read_bytes())


def test_rig_mode_too_large_for_memory_is_refused_before_anything_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.world

    # a machine of 1 MiB: the tutorial's 28,000 rigs need about 3 MiB in rig resolution
    monkeypatch.setattr(sim.world.os, "sysconf",
                        lambda name: {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 256}[name])
    code, _, err = invoke("run", "tutorial", "--rig", "-o", str(tmp_path / "r"), *SHORT, "-q")
    assert code != 0 and "resolution: cohort" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
    code, _, err = invoke("run", "tutorial", "-o", str(tmp_path / "c"), *SHORT, "-q")
    assert code == 0, err  # cohort resolution is not limited


def test_a_mistyped_bundled_name_gets_a_suggestion() -> None:
    code, _, err = invoke("run", "tutorail", "-q")
    assert code == 3 and "did you mean 'tutorial'?" in err and "bundled: china-2021" in err
    code, _, err = invoke("validate", "nope.yaml")  # (a file's name: no list of scenarios)
    assert code == 3 and "file not found" in err and "bundled" not in err
