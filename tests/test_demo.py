"""`hashsim demo`: narrates a run, writes its results and report, needs no input or waiting."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.bundled import bundled_scenarios
from sim.demo import run_demo


def invoke(*args: str) -> tuple[int, str, str]:
    from sim.commands.visual import demo

    result = CliRunner().invoke(demo, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def short_tutorial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tutorial file cut at the end of July (through the ban and the pool's closure)."""
    text = bundled_scenarios()["tutorial"].read_text(encoding="utf-8")
    assert "\nend: 2021-12-31" in text
    path = tmp_path_factory.mktemp("demo") / "short.yaml"
    path.write_text(text.replace("\nend: 2021-12-31", "\nend: 2021-07-31"), encoding="utf-8")
    return path


def test_demo_narrates_and_writes_results_and_a_report(short_tutorial: Path, tmp_path: Path
                                                       ) -> None:
    pytest.importorskip("plotly")
    code, out, err = invoke(str(short_tutorial), "--pace", "0", "-o", str(tmp_path / "d"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "hashsim demo: tutorial"
    assert "2021-04-01  ▶ Red Council: mining ban in Red Country" in out  # a dated event
    assert any("difficulty answers: -" in line for line in lines)  # the difficulty answers
    assert any(" EH/s " in line and "%" in line for line in lines)  # the hashrate, weekly
    assert "rigs shipped so far: Blue Country" in out  # where the rigs go
    assert "What happened" in out and "drop to the trough" in out
    # what the rigs chose, in the closing lines (the demo of a ban said nothing of it)
    assert "decisions over the run: relocated: " in out.split("What happened")[1]
    report = tmp_path / "d" / "report.html"
    assert f"report:  {report}" in out and report.stat().st_size > 4_000_000
    run = json.loads((tmp_path / "d" / "run.json").read_text())
    assert run["demo"] == str(short_tutorial) and run["replicates"] == 1
    assert {p.name for p in (tmp_path / "d").iterdir()} >= {"network.csv", "summary.csv"}


def test_demo_works_with_no_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke("--no-report")
    assert code == 0, err
    assert "hashsim demo: tutorial" in out and "2021-12-31" in out
    assert (tmp_path / "results" / "demo-tutorial" / "run.json").is_file()
    # docs/visual.md's excerpt of this demo is what it prints today
    page = (Path(__file__).resolve().parents[1] / "docs" / "visual.md").read_text()
    excerpt = next(block for block in page.split("```") if "difficulty answers" in block)
    shown = [line for line in excerpt.splitlines() if line.strip()]
    assert len(shown) >= 4 and set(shown) <= set(out.splitlines()), "update docs/visual.md"
    ours = [p for p in pauses if p in (0.5, 0.25, 0.05)]  # (subprocess sleeps too)
    assert len(ours) > 52 and 0.5 in ours  # --pace 0.5 by default: a week, an event
    code, _, err = invoke("--no-report", "--pace", "0")  # a previous demo's folder is replaced
    assert code == 0, err


def test_pace_zero_never_sleeps_and_pace_slows_down(short_tutorial: Path, tmp_path: Path
                                                    ) -> None:
    pauses: list[float] = []
    lines: list[str] = []
    run_demo(str(short_tutorial), pace=0.0, output=tmp_path / "a", report=False,
             echo=lines.append, sleep=pauses.append)
    assert pauses == [] and len(lines) > 40
    run_demo(str(short_tutorial), pace=2.0, output=tmp_path / "a", report=False,
             echo=lines.append, sleep=pauses.append)
    assert sum(pauses) > 2.0 * 30  # at least one full pause a week for 30 weeks


def test_demo_refuses_unknown_scenarios_and_foreign_folders(tmp_path: Path) -> None:
    code, _, err = invoke("no-such-scenario", "--pace", "0")
    assert code == 3 and "no scenario 'no-such-scenario'" in err and "tutorial" in err
    assert "Traceback" not in err
    (tmp_path / "mine").mkdir()
    code, _, err = invoke("--pace", "0", "-o", str(tmp_path / "mine"))
    assert code == 2 and "is not a previous demo's" in err
    assert list((tmp_path / "mine").iterdir()) == []  # untouched


def test_the_last_days_do_not_repeat_the_weekly_status(short_tutorial: Path, tmp_path: Path
                                                       ) -> None:
    """The run's last day printed its status again a day or two after the weekly one."""
    lines: list[str] = []
    run_demo(str(short_tutorial), pace=0.0, output=tmp_path / "a", report=False,
             echo=lines.append)
    status = [line for line in lines if " EH/s " in line and "%" in line]
    assert status and status[-1].startswith("2021-07-29")  # the weekly one; none on 31 July
    assert sum(line.startswith(("2021-07-30", "2021-07-31")) for line in status) == 0


@pytest.mark.parametrize("pace", ["nan", "inf", "1e400"])
def test_a_pace_that_is_not_a_finite_number_is_a_usage_error(pace: str) -> None:
    code, _, err = invoke("--pace", pace, "--no-report")
    assert code == 2 and "is not a finite number" in err


def test_the_introduction_counts_in_words_that_agree() -> None:
    """iran-2021 has one pool: the introduction said "1 pools"."""
    import sim
    from sim.demo import _intro

    lines: list[str] = []
    _intro(sim.load("iran-2021"), lambda text="", **_: lines.append(str(text)))
    assert any("6 regions, 4,584,700 rigs, 1 pool, 2 policies" in line for line in lines)
