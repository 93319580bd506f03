"""`hashsim calibrate` as a researcher uses it: a whole-number parameter, the file it writes,
the runs it spends, and a backtest that shows the objective it reached."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from cli import main
from sim.bundled import resolve
from sim.calibrate import Param, calibrate, write_calibrated
from sim.validation import load
from tests.worlds import three_regions

BAN = {"kind": "mining_ban", "id": "ban", "region": "a", "date": "2021-01-11",
       "hazard_per_day": 0.1}
SHARE = {"metric": "region_share", "name": "a", "date": "2021-02-10", "value": 0.3,
         "low": 0.25, "high": 0.35}


def _world(tmp_path: Path) -> Path:
    """The three-region world with a ban and one observed share (a run takes ~0.4 s)."""
    doc = three_regions(end="2021-02-28", policies=[BAN],
                        observed={"coin": "BTC", "checks": [SHARE]})
    path = tmp_path / "world.yaml"
    with path.open("w") as fh:
        YAML().dump(doc, fh)
    return path


def _changed(before: str, after: str) -> list[str]:
    """The lines a diff adds or removes, without the file headers."""
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_a_whole_number_field_is_fitted_in_whole_numbers(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """fleet.N.rigs is an int: the simplex's points between whole numbers were refused by the
    scenario mid-fit (exit 3 after minutes of runs, naming a --set nobody typed)."""
    monkeypatch.setattr("sim.calibrate._objective",
                        lambda sc, seed, reps: abs(sc.fleet[0].rigs - 4321) / 1000.0)
    fit = calibrate(_world(tmp_path), [Param.parse("fleet.0.rigs=3000:6000")], seed=1,
                    max_evaluations=20)
    values = [h["fleet.0.rigs"] for h in fit.history]
    assert len(values) > 5 and all(float(v).is_integer() for v in values), values
    assert fit.best["fleet.0.rigs"] == pytest.approx(4321, abs=40)
    write_calibrated(_world(tmp_path), fit.best, tmp_path / "calibrated.yaml")
    assert isinstance(load(tmp_path / "calibrated.yaml").fleet[0].rigs, int)


def test_a_point_already_run_is_not_run_again(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Every evaluation runs on the same seeds, so a point's objective is known once run: the
    bounded simplex comes back to points (a clipped bound, a shrink) and spent runs on them."""
    runs: list[float] = []

    def objective(sc: object, seed: int, reps: int) -> float:
        hazard = sc.policies[0].hazard_per_day  # type: ignore[attr-defined]
        runs.append(hazard)
        return (hazard - 0.3) ** 2

    monkeypatch.setattr("sim.calibrate._objective", objective)
    fit = calibrate(_world(tmp_path), [Param.parse("policies.ban.hazard_per_day=0:1")],
                    seed=1, max_evaluations=30)
    assert len(runs) == len(set(runs)) == fit.evaluations == len(fit.history)
    assert fit.best["policies.ban.hazard_per_day"] == pytest.approx(0.3, abs=0.01)


@pytest.mark.parametrize(("name", "path"), [
    ("china-2021", "policies.state-council.exit_rate_per_day"),  # a list element by name
    ("sparkpool-2021", "purchases.1.rigs_per_day"),  # by index
    ("wuhan-general-2018", "fleet.0.rigs"),  # in a flow mapping, a whole number
    ("tutorial", "behaviour.constants.underground"),
])
def test_the_calibrated_file_differs_only_in_the_fitted_values(name: str, path: str,
                                                               tmp_path: Path) -> None:
    """calibrated.yaml is 'the scenario file with the fitted values filled in': it was dumped
    anew (sequences re-indented, long lines re-wrapped, comments moved: 2,147 changed lines
    for one value of china-2021), so a diff against the original showed nothing useful."""
    source = resolve(name)
    value = 1234567 if path.endswith("rigs") else 0.123456
    write_calibrated(source, {path: value}, tmp_path / "calibrated.yaml")
    before = source.read_text(encoding="utf-8")
    after = (tmp_path / "calibrated.yaml").read_text(encoding="utf-8")
    changed = _changed(before, after)
    body = [c for c in changed if "yaml-language-server" not in c and "Calibrated by" not in c]
    assert len(body) == 2 and str(value) in body[1], changed  # the one line, as it was
    assert body[0].partition("#")[2] == body[1].partition("#")[2]  # its comment kept
    again = load(tmp_path / "calibrated.yaml")
    assert again.model_dump() == load(source, [f"{path}={value!r}"]).model_dump()


def test_a_fitted_field_the_file_leaves_to_its_default_is_added_at_its_place(
        tmp_path: Path) -> None:
    source = resolve("tutorial")
    assert "switch_on_margin" not in source.read_text(encoding="utf-8")
    write_calibrated(source, {"behaviour.switch_on_margin": 0.25}, tmp_path / "calibrated.yaml")
    after = (tmp_path / "calibrated.yaml").read_text(encoding="utf-8")
    body = [c for c in _changed(source.read_text(encoding="utf-8"), after)
            if "yaml-language-server" not in c and "Calibrated by" not in c]
    assert body == ["+  switch_on_margin: 0.25  # calibrated by hashsim calibrate"]
    assert load(tmp_path / "calibrated.yaml").behaviour.switch_on_margin == 0.25
    write_calibrated(source, {"policies.ban.grace_days": 12.5}, tmp_path / "in-a-list.yaml")
    after = (tmp_path / "in-a-list.yaml").read_text(encoding="utf-8")
    body = [c for c in _changed(source.read_text(encoding="utf-8"), after)
            if "yaml-language-server" not in c and "Calibrated by" not in c]
    assert body == ["+    grace_days: 12.5  # calibrated by hashsim calibrate"]
    assert load(tmp_path / "in-a-list.yaml").policies[1].grace_days == 12.5


def test_a_value_that_cannot_be_replaced_in_place_is_still_written(tmp_path: Path) -> None:
    """A value behind an anchor: the document is written anew, with the fitted value."""
    path = _world(tmp_path)
    text = path.read_text(encoding="utf-8").replace("hazard_per_day: 0.1",
                                                    "hazard_per_day: &h 0.1")
    assert "&h" in text
    path.write_text(text, encoding="utf-8")
    write_calibrated(path, {"policies.ban.hazard_per_day": 0.25}, tmp_path / "calibrated.yaml")
    assert load(tmp_path / "calibrated.yaml").policies[0].hazard_per_day == 0.25


def test_backtest_of_the_calibrated_file_shows_the_objective_of_the_fit(tmp_path: Path
                                                                       ) -> None:
    """The fit reports an objective; its backtest printed none (and the file keeps the
    scenario's seed, not the fit's), so the researcher could not check the two agree."""
    out = CliRunner().invoke(main, ["calibrate", str(_world(tmp_path)), "--param",
                                    "policies.ban.hazard_per_day=0.05:0.3", "-r", "1",
                                    "--seed", "3", "--max-evaluations", "3", "-q", "-o",
                                    str(tmp_path / "cal")])
    assert out.exit_code == 0, out.output
    fit = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    calibrated = tmp_path / "cal" / "calibrated.yaml"
    header = calibrated.read_text(encoding="utf-8").split("\nname:")[0]
    assert "--seed 3 -r 1" in header and f"{fit['objective']:.6g}" in header
    out = CliRunner().invoke(main, ["backtest", str(calibrated), "--seed", "3", "-r", "1",
                                    "-o", str(tmp_path / "bt")])
    assert out.exit_code in (0, 1), out.output  # (1: the toy world misses its band)
    scores = pd.read_csv(tmp_path / "bt" / "backtest_scores.csv")
    assert scores["objective"].item() == pytest.approx(fit["objective"], rel=1e-12)
    assert f"objective {fit['objective']:.4g}" in out.output


def test_an_interrupted_fit_says_the_best_point_it_had_found(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """Ctrl-C after minutes of runs wrote nothing and said only 'interrupted: nothing was
    written': the best point, a start for the next fit, was lost with them."""
    runs: list[float] = []

    def objective(sc: object, seed: int, reps: int) -> float:
        if len(runs) == 3:
            raise KeyboardInterrupt
        runs.append(sc.policies[0].hazard_per_day)  # type: ignore[attr-defined]
        return (runs[-1] - 0.2) ** 2

    monkeypatch.setattr("sim.calibrate._objective", objective)
    out = CliRunner().invoke(main, ["calibrate", str(_world(tmp_path)), "--param",
                                    "policies.ban.hazard_per_day=0:0.4", "-q", "-o",
                                    str(tmp_path / "cal")])
    assert out.exit_code == 130, out.output
    best = min(runs, key=lambda h: abs(h - 0.2))
    assert ("interrupted after 3 runs; nothing was written (best so far: objective "
            f"{(best - 0.2) ** 2:.4g} at policies.ban.hazard_per_day = {best:.6g})") in out.output
    assert not (tmp_path / "cal").exists()
