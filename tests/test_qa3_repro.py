"""Defects found by a QA pass of installation, reproducibility and the cluster path.

- a Dask scheduler address without ``tcp://``, with a bad port, or of a server that is not a
  Dask scheduler is a usage error at once (exit code 2), not a 20 s wait, a hang or a traceback;
- on an existing Dask cluster the number of runs in flight follows the cluster's size as
  workers join (dask-jobqueue), instead of staying at what it was when the sweep started;
- workers with other library versions than the machine running the sweep are named in a
  warning and in manifest.json;
- run.json's ``git_commit`` says ``-dirty`` when the code differs from the commit, and is
  absent for an installed copy inside some other repository;
- the README's reproducibility promises, end to end: reruns, ``--from``, replicate k.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from sim.experiments import executors, runner
from sim.experiments.errors import UsageError
from sim.experiments.executors import Pool
from sim.experiments.plan import prepare
from sim.results import TABLES, git_commit
from tests.test_experiments import TUTORIAL, _write

SMALL = f"""\
name: qa3
scenario: {TUTORIAL}
set: {{end: 2021-01-20}}
parameters:
  risk_aversion: {{path: behaviour.risk_aversion, values: [1.0, 3.0]}}
replicates: 1
seed: 5
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port where a server accepts connections and never answers (a web server's)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


# ---------------------------------------------------------------------------- scheduler


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:abc", "tcp://127.0.0.1:99999", "bogus",
                                     "tcp://:8786"])
def test_a_malformed_scheduler_address_is_a_usage_error(address: str) -> None:
    pytest.importorskip("distributed")
    with pytest.raises(UsageError, match="bad Dask scheduler address"):
        Pool(2, address, 10)


def test_an_address_without_scheme_is_probed_like_tcp() -> None:
    """host:port is how Dask reads tcp://host:port; it used to skip the probe and wait 20 s."""
    pytest.importorskip("distributed")
    with pytest.raises(UsageError, match="nothing answers"):
        Pool(2, f"127.0.0.1:{_closed_port()}", 10)


def test_a_server_that_never_answers_is_a_usage_error_not_a_hang(
        silent_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 0.5)
    with pytest.raises(UsageError, match="no Dask answer"):
        Pool(2, f"tcp://127.0.0.1:{silent_server}", 10)


def test_a_client_that_raises_anything_is_a_usage_error() -> None:
    """A server that answers garbage made Dask raise MemoryError: a traceback, exit 1."""

    def garbage(address: str, timeout: str) -> Any:
        raise MemoryError("Unable to allocate 3.07 EiB")

    with pytest.raises(UsageError, match=r"not Dask's.*MemoryError"):
        executors._connect(garbage, "tcp://x:1", 1.0)


def test_the_cli_reports_a_bad_scheduler_with_exit_code_2(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    experiment = _write(tmp_path, SMALL)
    result = CliRunner().invoke(main, ["sweep", str(experiment), "-o", str(tmp_path / "out"),
                                       "--scheduler", "tcp://127.0.0.1:abc", "-q"])
    assert result.exit_code == 2, result.output
    assert "bad Dask scheduler address" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "out").exists()


def test_the_window_follows_a_cluster_that_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers of batch jobs join after the sweep connects: the window must grow with them."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(executors, "RESIZE_INTERVAL_S", 0.0)
    with distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        pool = Pool(1, cluster.scheduler_address, 100)
        try:
            assert pool.remote and pool.threads == 0
            assert pool.window == 4
            cluster.scale(3)
            pool._client.wait_for_workers(3, timeout=30)
            assert pool.window == 6
        finally:
            pool.close()


# ---------------------------------------------------------------------------- worker versions


def test_workers_with_other_versions_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    real = runner.execute

    def elsewhere(task: Any) -> runner.Outcome:
        outcome = real(task)
        assert outcome.versions is not None
        outcome.versions = {**outcome.versions, "numpy": "1.0.0"}
        return outcome

    monkeypatch.setattr(runner, "execute", elsewhere)
    report = runner.run_sweep(prepare(_write(tmp_path, SMALL)), tmp_path / "out", jobs=1)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [v["numpy"] for v in manifest["worker_versions"]] == ["1.0.0"]
    assert len(report.other_versions) == 1
    err = capsys.readouterr().err
    assert "numpy 1.0.0 (here " in err and "worker_versions" in err


def test_workers_like_this_machine_leave_no_note(tmp_path: Path) -> None:
    runner.run_sweep(prepare(_write(tmp_path, SMALL)), tmp_path / "out", jobs=1)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert "worker_versions" not in manifest


# ---------------------------------------------------------------------------- git commit


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=qa", "-c", "user.email=qa@example.org", *args],
                   cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_commit_marks_changed_code_and_ignores_other_repositories(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sim").mkdir(parents=True)
    (repo / "sim" / "a.py").write_text("x = 1\n")
    (repo / "notes.txt").write_text("n\n")
    installed = repo / "venv" / "lib" / "site-packages" / "sim"
    installed.mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "add", "sim", "notes.txt")
    _git(repo, "commit", "-q", "-m", "c")
    clean = git_commit(repo / "sim")
    assert clean is not None and len(clean) == 40
    (repo / "notes.txt").write_text("not code\n")
    assert git_commit(repo / "sim") == clean
    (repo / "sim" / "a.py").write_text("x = 2\n")
    assert git_commit(repo / "sim") == f"{clean}-dirty"
    assert git_commit(installed) is None  # a venv inside a project's repository


# ---------------------------------------------------------------------------- reproducibility


def _run(*args: str) -> None:
    result = CliRunner().invoke(main, ["run", *args, "-q"])
    assert result.exit_code == 0, result.output


def test_reruns_from_and_replicates_repeat_byte_for_byte(tmp_path: Path) -> None:
    short = ["tutorial", "--seed", "5", "--set", "end=2021-02-15"]
    _run(*short, "-r", "2", "-o", str(tmp_path / "a"))
    _run(*short, "-r", "2", "-o", str(tmp_path / "b"))
    _run("--from", str(tmp_path / "a" / "run.json"), "-o", str(tmp_path / "c"))
    _run(*short, "-r", "3", "-o", str(tmp_path / "d"))
    for name in TABLES:
        a = (tmp_path / "a" / f"{name}.csv").read_bytes()
        assert a == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
        assert a == (tmp_path / "c" / f"{name}.csv").read_bytes(), name
        first = pd.read_csv(tmp_path / "a" / f"{name}.csv")
        more = pd.read_csv(tmp_path / "d" / f"{name}.csv")
        if name == "network":
            assert set(more["replicate"]) == {0, 1, 2}
        pd.testing.assert_frame_equal(
            first, more[more["replicate"] < 2].reset_index(drop=True), check_dtype=False)
    doc = json.loads((tmp_path / "a" / "run.json").read_text())
    assert {"scenario", "scenario_hash", "seed", "replicates", "versions", "git_commit",
            "command"} <= set(doc)
    assert doc["seed"] == 5 and doc["replicates"] == 2
