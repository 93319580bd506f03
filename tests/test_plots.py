"""Figures: loading results and experiment folders, bands, markers, files, the `plot` command.

Also holds the helpers the report and demo tests share: a small tutorial run and a synthetic
experiment folder (arms, samples, sensitivity indices) built from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim import plots
from sim.plots import FIGURES, RunData, load_run

SHORT = ["end=2021-05-31"]  # the tutorial through its announcement, ban and power cut


def small_run(target: Path, overrides: list[str] | None = None, replicates: int = 2,
              scenario: sim.Scenario | None = None) -> Path:
    """A short tutorial run written to `target`."""
    loaded = scenario or sim.load("tutorial", SHORT + (overrides or []))
    return sim.run(loaded, seed=1, replicates=replicates).write(target)


def shared_run(factory: pytest.TempPathFactory) -> Path:
    """The short two-replicate tutorial run, made once per session for every test module."""
    target = factory.getbasetemp() / "shared-tutorial-run"
    return target if (target / "run.json").is_file() else small_run(target)


def make_experiment(run_dir: Path, target: Path) -> Path:
    """An experiment folder as issue 4 lays it out: two arms × two samples, from one run."""
    target.mkdir(parents=True)
    for name in plots.TABLES:
        df = pd.read_csv(run_dir / f"{name}.csv", keep_default_na=False, na_values=[""])
        parts = []
        for sample, hazard in enumerate((0.02, 0.1)):
            for arm, factor in (("ban", 1.0), ("no-ban", 1.15)):
                part = df.copy()
                if name == "network":
                    part["hashrate_hs"] = part["hashrate_hs"] * factor * (1 + 0.01 * sample)
                part.insert(0, "param_hazard", hazard)
                part.insert(0, "arm", arm)
                part.insert(0, "sample", sample)
                parts.append(part)
        pd.concat(parts).to_csv(target / f"{name}.csv", index=False)
    pd.DataFrame({"sample": [0, 1], "param_hazard": [0.02, 0.1]}).to_csv(
        target / "samples.csv", index=False)
    pd.DataFrame({"metric": ["drop", "drop", "trough_hashrate", "trough_hashrate"],
                  "parameter": ["hazard", "risk_aversion"] * 2, "S1": [0.6, 0.2, 0.5, 0.3],
                  "S1_conf": [0.05] * 4, "ST": [0.7, 0.3, 0.6, 0.4], "ST_conf": [0.05] * 4}
                 ).to_csv(target / "sensitivity.csv", index=False)
    run = json.loads((run_dir / "run.json").read_text())
    manifest = {"hashsim_experiment": 1, "name": "tutorial-sweep", "seed": 1,
                "arms": {"ban": {"scenario": "tutorial", "overrides": SHORT},
                         "no-ban": {"scenario": "tutorial", "overrides": SHORT}},
                "versions": run["versions"], "replicates": 2}
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_run(tmp_path_factory)


@pytest.fixture(scope="module")
def data(run_dir: Path) -> RunData:
    return load_run(run_dir)


def test_a_results_folder_loads_with_arm_sample_and_replicate(data: RunData) -> None:
    assert data.arms == [""] and data.coins == ["TUT"] and not data.experiment
    assert data.members("") == 2
    assert data.hashrate_unit("TUT") == (1e18, "EH/s")
    assert data.label("highland") == "Highland (Red Country)"
    for name in plots.TABLES:
        assert {"arm", "sample", "replicate"} <= set(data.tables[name].columns)
    assert not data.leaf_regions()["aggregate"].any()


def test_bands_are_quantiles_over_members() -> None:
    dates = pd.to_datetime(["2021-01-01"] * 5)
    df = pd.DataFrame({"arm": "", "sample": 0, "replicate": range(5), "date": dates,
                       "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    b = plots.bands(df, "x")
    assert b[["lo", "mid", "hi"]].iloc[0].tolist() == pytest.approx([1.2, 3.0, 4.8])


def test_every_arm_charts_its_keys_in_one_order_the_largest_over_all_arms_first() -> None:
    """Hand-computed: b 4 + 3, a 5 + 1, d 2, c 1. The choices figures took the first arm's
    order (a, b, c, then d); the flows, arrivals and earnings figures the total's."""
    ban = pd.Series({"a": 5.0, "b": 4.0, "c": 1.0})
    other = pd.Series({"b": 3.0, "d": 2.0, "a": 1.0})
    assert plots.order_over_arms([ban, other]) == ["b", "a", "d", "c"]
    assert plots.order_over_arms([ban, other], most=2) == ["b", "a"]
    assert plots.order_over_arms([ban]) == ["a", "b", "c"]  # one arm: its own order
    assert plots.order_over_arms([pd.Series(dtype=float)]) == []
    # ties in the order the arms first list them
    assert plots.order_over_arms([pd.Series({"y": 1.0, "x": 1.0}), pd.Series({"x": 1.0})]) \
        == ["x", "y"]
    assert plots.order_over_arms([pd.Series({"y": 1.0, "x": 1.0})]) == ["y", "x"]
    choices = {arm: pd.DataFrame({"relocate": s, "hibernate": s / 2}) for arm, s in
               (("ban", ban), ("other", other))}
    assert plots.choice_regions(choices) == ["b", "a", "d", "c"]
    flows = {arm: pd.DataFrame({"origin": "x", "destination": s.index, "rigs": s.to_numpy()})
             for arm, s in (("ban", ban), ("other", other))}
    assert plots.flow_order(flows) == [("x", "b"), ("x", "a"), ("x", "d"), ("x", "c")]
    arrivals = [pd.DataFrame([s.to_numpy() / 2, s.to_numpy()], columns=s.index)
                for s in (ban, other)]
    assert plots.dest_order(arrivals) == ["b", "a", "d", "c"]


def test_rigs_by_status_of_each_region_add_up_to_every_regions(data: RunData) -> None:
    """status_means: each status summed over a run's rows of a date, then the mean of the
    runs; by region, the regions' means add up to the whole."""
    leaves = data.leaf_regions()
    cols = plots.status_columns(leaves)
    assert cols[0] == "rigs_online" and "rigs_banned_off" in cols
    whole = plots.status_means(leaves, "")
    runs = [part.groupby("date")[cols].sum() for _, part in leaves.groupby(["sample",
                                                                            "replicate"])]
    assert len(runs) == 2
    pd.testing.assert_frame_equal(whole, (runs[0] + runs[1]) / 2, check_names=False)
    by_region = plots.status_means(leaves, "", by=["region"])
    pd.testing.assert_frame_equal(by_region.groupby("date").sum(), whole, check_names=False)
    assert not len(plots.status_means(leaves, "no such arm"))


def test_markers_are_dated_and_labelled_from_the_event_log(data: RunData) -> None:
    marks = {m.date.strftime("%Y-%m-%d"): m.label for m in plots.markers(data)}
    assert marks["2021-04-01"] == "ban Red Country"
    assert marks["2021-05-15"] == "power cut Plains (Red Country)"
    assert "retarget" not in " ".join(marks.values())
    rt = plots.retargets(data, "TUT")
    assert len(rt) > 5 and rt["change_pct"].abs().max() > 10


def test_observed_hashrate_is_read_from_the_scenario(data: RunData) -> None:
    points = [{"date": "2021-02-01", "hashrate_hs": 2.5e18},
              {"date": "2021-03-01", "hashrate_hs": 2e18}]
    scenario = dict(data.scenario, observed={"coin": "TUT", "hashrate": points})
    with_obs = RunData(data.name, scenario, dict(data.tables), data.meta)
    obs = plots.observed_hashrate(with_obs, "TUT")
    assert obs is not None and obs["hashrate_hs"].tolist() == [2.5e18, 2e18]
    assert plots.observed_hashrate(data, "TUT") is None
    pytest.importorskip("matplotlib")
    fig = plots.fig_hashrate(with_obs)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "observed (7-day mean)" in labels and "5–95 % of 2 runs" in labels


def test_every_figure_is_written_as_a_non_empty_png(data: RunData, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    written = plots.write_figures(data, tmp_path / "figs", "png")
    assert [p.stem for p in written] == list(FIGURES)
    for path in written:
        blob = path.read_bytes()
        assert blob.startswith(b"\x89PNG") and len(blob) > 10_000, path
    assert not list((tmp_path / "figs").glob(".*"))  # no temporary files left


def test_svg_files_are_byte_identical_between_runs(data: RunData, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    only = ("hashrate", "regions", "flows")
    first = plots.write_figures(data, tmp_path / "a", "svg", only)
    second = plots.write_figures(load_run(data.source or ""), tmp_path / "b", "svg", only)
    for a, b in zip(first, second, strict=True):
        text = a.read_bytes()
        assert text == b.read_bytes(), a.name
        assert text.startswith(b"<?xml") and b"<dc:date>" not in text


def test_an_experiment_folder_shows_arms_side_by_side(run_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    exp = load_run(make_experiment(run_dir, tmp_path / "exp"))
    assert exp.experiment and exp.arms == ["ban", "no-ban"]
    assert exp.members("ban") == 4  # 2 samples × 2 replicates
    assert exp.scenario.get("name") == "tutorial"  # loaded from the first arm's scenario
    assert exp.sensitivity is not None and len(exp.sensitivity) == 4
    fig = plots.fig_regions(exp)
    assert len(fig.axes) == 2 and [a.get_title() for a in fig.axes] == ["TUT — ban",
                                                                        "TUT — no-ban"]
    b = plots.bands(exp.tables["network"], "hashrate_hs")
    last = b[b["date"] == b["date"].max()].set_index("arm")["mid"]
    assert last["no-ban"] / last["ban"] == pytest.approx(1.15)
    written = plots.write_figures(exp, tmp_path / "figs", "png", ("hashrate", "flows"))
    assert [p.stem for p in written] == ["hashrate", "flows"]


def test_a_run_without_facilities_or_flows_skips_those_figures(data: RunData,
                                                               tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    tables = dict(data.tables)
    tables["facilities"] = tables["facilities"].iloc[0:0]
    tables["flows"] = tables["flows"].iloc[0:0]
    bare = RunData(data.name, data.scenario, tables, data.meta)
    written = plots.write_figures(bare, tmp_path, "png", ("flows", "facilities", "rigs"))
    assert [p.stem for p in written] == ["rigs"]


def invoke(*args: str) -> tuple[int, str, str]:
    from sim.commands.visual import plot

    result = CliRunner().invoke(plot, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_plot_command_writes_figures_into_results_figures(run_dir: Path, tmp_path: Path
                                                          ) -> None:
    pytest.importorskip("matplotlib")
    code, out, err = invoke(str(run_dir), "-o", str(tmp_path / "f"), "--format", "svg",
                            "--only", "hashrate", "--only", "rigs")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["hashrate.svg", "rigs.svg"]
    assert "hashrate.svg" in out and "wrote 2 figures" in err


def test_without_matplotlib_plot_names_the_extra(run_dir: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A base install (no matplotlib): `hashsim plot` printed a traceback and exited 1, and a
    notebook's figure_png raised, where both are meant to name the extra (d7b5d26 lost the
    check with the pyplot helper)."""
    import sys

    from sim.notebook import figure_png, results_html

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    code, _, err = invoke(str(run_dir), "-o", str(tmp_path / "f"))
    assert code == 2 and "pip install 'hashsim[plot]'" in err and "Traceback" not in err
    assert not (tmp_path / "f").exists()
    assert figure_png(run_dir) is None
    assert "Install matplotlib" in results_html(run_dir)


def test_plot_command_refuses_bad_input_with_a_message(tmp_path: Path) -> None:
    code, _, err = invoke(str(tmp_path / "nowhere"))
    assert code == 2 and "no such directory" in err and "Traceback" not in err
    code, _, err = invoke(str(tmp_path))
    assert code == 3 and "not a hashsim results directory" in err
    (tmp_path / "run.json").write_text("{}")
    (tmp_path / "network.csv").write_text("a,b\n1,2\n")
    code, _, err = invoke(str(tmp_path))
    assert code == 3 and "missing columns date, coin, hashrate_hs" in err
    (tmp_path / "run.json").write_text("{not json")
    code, _, err = invoke(str(tmp_path))
    assert code == 3 and "unreadable" in err
    code, _, err = invoke(str(tmp_path / "run.json"))
    assert code == 3 and "not a directory" in err
    code, _, err = invoke(str(tmp_path), "--format", "pdf")
    assert code == 2


def test_results_render_inline_in_a_notebook(run_dir: Path) -> None:
    pytest.importorskip("matplotlib")
    from sim.notebook import results_html

    loaded = sim.load("tutorial", [*SHORT, "name=<b>x</b>"])
    html = results_html(sim.run(loaded, seed=1))
    assert "data:image/png;base64," in html and "<table class='summary'>" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "hashrate before the shock" in html and "EH/s" in html


def test_the_co2_axis_reads_the_tonnes_summary_csv_reports(data: RunData) -> None:
    pytest.importorskip("matplotlib")
    fig = plots.fig_energy(data)
    assert fig is not None
    ax = fig.axes[1]
    unit = ax.get_ylabel().rpartition("(")[2].rstrip(")")
    median = ax.get_lines()[0].get_ydata()[-1]  # the median line's last day
    in_tonnes = {"t": 1.0, "kt": 1e3, "Mt": 1e6, "Gt": 1e9, "g": 1e-6, "kg": 1e-3, "Mg": 1.0,
                 "Gg": 1e3, "Tg": 1e6}
    assert unit in in_tonnes, ax.get_ylabel()
    summary = data.tables["summary"]
    co2 = summary.loc[summary["metric"] == "co2", "value"].to_numpy(dtype=float)
    assert len(co2) == data.members("") == 2  # one coin, so its co2 is every leaf's
    assert float(median) * in_tonnes[unit] == pytest.approx(float(np.median(co2)), rel=1e-9)
    assert unit == "kt"  # some 10⁵ t in this run: kilotonnes


def test_summary_values_are_shown_in_display_units(data: RunData) -> None:
    from sim.report import summary_rows

    rows = {r["metric"]: r["cells"][0] for r in summary_rows(data)}
    assert rows["pre_shock_hashrate"].endswith("EH/s (shock on 2021-03-01)")  # the 7 days before
    assert rows["largest_downward_adjustment"].startswith("-")
    assert rows["energy"].split(" [")[0].endswith(" GWh")  # (the range after it: its unit)
    assert np.isfinite(float(rows["drop"].split(" ")[0]))


def test_regions_named_after_a_colour_are_drawn_in_it() -> None:
    from sim.plot_style import TAB10_NAMES, palette_slots

    slots = palette_slots(["blue_country", "green_country", "highland", "plains"])
    assert [TAB10_NAMES[s] for s in slots[:2]] == ["blue", "green"]
    assert len(set(slots)) == 4  # the unnamed ones take other colours
    assert palette_slots(["a", "b", "c"]) == [0, 1, 2]  # no colour words: the usual order
