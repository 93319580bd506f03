"""--force replaces hashsim's own output only: never someone's folder, the folder one works in,
a link, or a file that is not a plain file; and nothing is touched before the refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from sim import load
from sim.errors import ResultsExistError
from sim.results import run

SHORT = ["--set", "end=2021-01-10"]  # (the refusals come before any run)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def someones(folder: Path) -> Path:
    folder.mkdir()
    (folder / "thesis.tex").write_text("months of work")
    return folder


@pytest.mark.parametrize("command", [
    ["run", "tutorial", *SHORT],
    ["backtest", "sparkpool-2021"],
    ["calibrate", "sparkpool-2021", "--param", "policies.notice-924-mining.hazard_per_day=0:0.1"],
    ["sweep", "tutorial-sweep", "-q"],
    ["demo", "--pace", "0", "--no-report"],
])
def test_force_does_not_replace_a_folder_that_is_not_hashsims(command: list[str], tmp_path: Path
                                                             ) -> None:
    folder = someones(tmp_path / "work")
    code, out = invoke(*command, "-o", str(folder), "--force")
    assert code == 2, out
    assert "not a hashsim output folder" in out
    assert [p.name for p in folder.iterdir()] == ["thesis.tex"]


def test_force_replaces_hashsims_own_output(tmp_path: Path) -> None:
    target = tmp_path / "out"
    for _ in range(2):
        code, out = invoke("run", "tutorial", *SHORT, "-o", str(target), "--force", "-q")
        assert code == 0, out
    assert (target / "run.json").is_file()


def test_the_current_folder_and_links_are_not_outputs(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    work = someones(tmp_path / "work")
    monkeypatch.chdir(work)
    for target in (".", "", str(tmp_path)):
        code, out = invoke("run", "tutorial", *SHORT, "-o", target, "--force")
        assert code == 2 and "is the current folder or holds it" in out, (target, out)
    code, out = invoke("run", "tutorial", *SHORT, "-o", str(tmp_path / "a"), "-q")
    assert code == 0, out
    (tmp_path / "link").symlink_to(tmp_path / "a")
    code, out = invoke("run", "tutorial", *SHORT, "-o", str(tmp_path / "link"), "--force")
    assert code == 2 and "symbolic link" in out
    assert (tmp_path / "link").is_symlink() and (work / "thesis.tex").is_file()


def test_the_api_refuses_too(tmp_path: Path) -> None:
    folder = someones(tmp_path / "work")
    results = run(load("tutorial", ["end=2021-01-10"]), seed=1)
    with pytest.raises(ResultsExistError, match="not a hashsim output folder"):
        results.write(folder, force=True)
    assert [p.name for p in folder.iterdir()] == ["thesis.tex"]


def test_report_replaces_an_existing_file_only_with_force(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    code, out = invoke("run", "tutorial", *SHORT, "-o", str(tmp_path / "r"), "-q")
    assert code == 0, out
    page = tmp_path / "page.html"
    page.write_text("mine")
    code, out = invoke("report", str(tmp_path / "r"), "-o", str(page))
    assert code == 2 and "use --force" in out and page.read_text() == "mine"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # (as a device or a pipe: never replaced, even with --force)
    code, out = invoke("report", str(tmp_path / "r"), "-o", str(fifo), "--force")
    assert code == 2 and "not a plain file" in out
    assert fifo.exists() and not fifo.is_file()
    code, out = invoke("report", str(tmp_path / "r"), "-o", str(page), "--force")
    assert code == 0, out
    assert page.stat().st_size > 1_000_000
