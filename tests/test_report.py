"""The HTML report: self-contained, deterministic, escaped; and, in Chromium, alive.

The browser tests open the page in Debian's headless Chromium through playwright with every
request that is not file:// blocked, and keep a screenshot under artifacts/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim.plots import RunData, load_run
from sim.report import build_report, summary_rows, summary_table_html, write_report
from tests.conftest import open_page
from tests.test_plots import SHORT, make_experiment, shared_run, small_run

pytest.importorskip("plotly")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
EVIL = "<script>alert(1)</script>"


def evil_scenario() -> sim.Scenario:
    """The tutorial with a region, labels and a description that are HTML."""
    base = sim.load("tutorial", SHORT)
    text = json.dumps(base.model_dump(mode="json")).replace('"green_country"', json.dumps(EVIL))
    doc = json.loads(text)
    doc["description"] = f"Teaching world {EVIL} & <img src=x onerror=alert(2)>"
    for region in doc["regions"]:
        if region["name"] == "blue_country":
            region["label"] = "<b onmouseover=alert(3)>Blue</b>"
    doc["pools"][1]["name"] = "<i>bluepool</i>"
    text = json.dumps(doc).replace('"bluepool"', json.dumps("<i>bluepool</i>"))
    return sim.Scenario.model_validate(json.loads(text))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_run(tmp_path_factory)


@pytest.fixture(scope="module")
def evil_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_run(tmp_path_factory.mktemp("evil") / "run", scenario=evil_scenario(),
                     replicates=1)


@pytest.fixture(scope="module")
def report_html(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    page = tmp_path_factory.mktemp("page") / "report.html"
    return write_report(load_run(run_dir), page).read_text(encoding="utf-8")


def test_the_report_is_one_offline_file_with_plotly_inlined_once(report_html: str) -> None:
    assert report_html.startswith("<!DOCTYPE html>")
    assert report_html.count("plotly.js v") == 1  # the library's banner, once
    assert not re.search(r"<script[^>]+src=", report_html)
    start = report_html.index("<script type='text/javascript'>")
    rest = report_html[:start] + report_html[report_html.index("</script>", start):]
    assert "https://" not in rest and "http://" not in rest  # no URL outside plotly.js
    assert "Content-Security-Policy" in report_html and "default-src 'none'" in report_html
    for div in ("fig-hashrate-0", "fig-difficulty-0", "fig-timeline", "fig-regions-0",
                "fig-rigs", "fig-pools-0", "fig-sankey-0", "fig-arrivals", "fig-facility-0",
                "fig-energy"):
        assert f'id="{div}"' in report_html, div
    for text in ("Summary", "hashrate before the shock", "The scenario as run",
                 "Provenance", "scenario_hash", "Highland (Red Country)"):
        assert text in report_html, text


def test_the_report_is_deterministic(run_dir: Path, report_html: str) -> None:
    assert build_report(load_run(run_dir)) == report_html


def test_scenario_text_is_escaped_everywhere(evil_dir: Path) -> None:
    page = build_report(load_run(evil_dir))
    assert EVIL not in page and "<img src=x" not in page and "<b onmouseover" not in page
    assert "<i>bluepool" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # in tables, YAML and plotly text
    # The only script elements are the library and one per figure.
    start = page.index("<script type='text/javascript'>")
    rest = page[:start] + page[page.index("</script>", start):]
    assert rest.count("<script") == rest.count('class="plotly-graph-div"') >= 10


def test_china_like_scenarios_get_the_source_articles_events(run_dir: Path) -> None:
    from sim.report_events import CHINA_2021, source_events

    data = load_run(run_dir)
    assert source_events(data.scenario) == []
    assert source_events({"name": "china-2021-no-exchanges"}) == list(CHINA_2021)
    observed = {"events": [{"date": "2021-03-15", "title": "Red Council <warns>", "source": "x"}]}
    data.scenario = dict(data.scenario, observed=observed)
    page = build_report(data)
    assert "What the sources report" in page and "Red Council &lt;warns&gt;" in page
    titles = [e.title for e in CHINA_2021]
    assert any("9.24" in t for t in titles) and any("Sparkpool" in t for t in titles)
    assert all(e.source for e in CHINA_2021)


def test_an_experiment_report_shows_arms_and_sensitivity(run_dir: Path, tmp_path: Path
                                                         ) -> None:
    data = load_run(make_experiment(run_dir, tmp_path / "exp"))
    page = build_report(data)
    assert "hashsim experiment" in page and 'id="fig-sensitivity"' in page
    assert "ban <span class='n'>(4 runs)</span>" in page
    assert "no-ban <span class='n'>(4 runs)</span>" in page
    assert "Parameter samples" in page and "risk_aversion" in page


def test_the_report_shows_the_indices_hashsim_sensitivity_writes(run_dir: Path,
                                                                  tmp_path: Path) -> None:
    """`hashsim sensitivity --metric M` writes sensitivity_M.csv: the report shows each."""
    import pandas as pd

    folder = make_experiment(run_dir, tmp_path / "exp")
    (folder / "sensitivity.csv").unlink()
    for metric in ("drop", "trough_hashrate"):
        pd.DataFrame({"arm": "ban", "coin": "TUT", "metric": metric,
                      "parameter": ["hazard", "risk_aversion"], "mu": [0.5, -0.1],
                      "mu_star": [0.6, 0.2], "mu_star_low": [0.4, 0.1],
                      "mu_star_high": [0.8, 0.3], "sigma": [0.2, 0.1], "n": 10}
                     ).to_csv(folder / f"sensitivity_{metric}.csv", index=False)
    page = build_report(load_run(folder))
    assert 'id="fig-sensitivity"' in page and "Morris screening" in page
    assert "trough_hashrate" in page and "mu_star_high" in page


def test_sensitivity_bars_carry_their_bootstrap_interval_and_arms_their_own_panel() -> None:
    import pandas as pd

    from sim.report import pfig_sensitivity

    rows = pd.DataFrame({"arm": ["ban", "ban", "no-ban", "no-ban"], "coin": "TUT",
                         "metric": "drop", "parameter": ["hazard", "risk"] * 2,
                         "mu_star": [0.6, 0.2, 0.5, 0.1], "mu_star_low": [0.4, 0.1, 0.3, 0.0],
                         "mu_star_high": [0.8, 0.3, 0.9, 0.2], "sigma": 0.1})
    fig = pfig_sensitivity(type("D", (), {"sensitivity": rows})())
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["drop — ban", "drop — no-ban"]
    bars = [t for t in fig.data if t.name == "mu_star"]
    assert [list(b.x) for b in bars] == [[0.6, 0.2], [0.5, 0.1]]  # one arm per panel
    assert list(bars[0].error_x.array) == pytest.approx([0.2, 0.1])  # high − value
    assert list(bars[0].error_x.arrayminus) == pytest.approx([0.2, 0.1])  # value − low


def invoke(*args: str) -> tuple[int, str, str]:
    from sim.commands.visual import report

    result = CliRunner().invoke(report, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_report_command(run_dir: Path, tmp_path: Path) -> None:
    code, out, err = invoke(str(run_dir), "-o", str(tmp_path / "page.html"))
    assert code == 0, err
    assert (tmp_path / "page.html").stat().st_size > 4_000_000 and "page.html" in out
    code, _, err = invoke(str(tmp_path / "missing"))
    assert code == 2 and "no such directory" in err and "Traceback" not in err
    code, _, err = invoke(str(tmp_path))
    assert code == 3 and "not a hashsim results directory" in err


# ---------------------------------------------------------------------------- summary table


def summary_data(rows: list[tuple[str, float, str]], runs: int = 3) -> RunData:
    """A bare run of `runs` replicates whose summary.csv holds `rows` (metric, value, date),
    listed replicate by replicate for each metric."""
    net = pd.DataFrame({"date": "2021-01-01", "coin": "TUT", "hashrate_hs": 1e18,
                        "replicate": range(runs)})
    units = {"days": "days after trough", "adjustment": "%", "trough": "H/s (7-day mean)"}
    summary = pd.DataFrame(
        [{"replicate": k % runs, "coin": "TUT", "metric": m, "value": v, "date": d,
          "unit": next(u for key, u in units.items() if key in m)}
         for k, (m, v, d) in enumerate(rows)])
    scenario = {"coins": [{"name": "TUT", "rule": "bitcoin"}]}
    return RunData("t", scenario, {"network": net, "summary": summary})


def test_the_summary_pairs_a_median_with_the_dates_of_every_run() -> None:
    nan = float("nan")
    data = summary_data([
        ("largest_downward_adjustment", -26.3, "2021-05-05"),
        ("largest_downward_adjustment", -26.28, "2021-05-04"),
        ("largest_downward_adjustment", -12.0, "2021-05-23"),
        ("largest_upward_adjustment", 4.0, "2021-02-04"),
        ("largest_upward_adjustment", nan, ""),
        ("largest_upward_adjustment", nan, ""),
        ("trough_hashrate", 1.5e18, "2021-05-21"),
        ("trough_hashrate", 1.4e18, "2021-05-21"),
        ("trough_hashrate", 1.6e18, "2021-05-21"),
        ("largest_adjustment", -26.3, "2021-05-05"),
        ("largest_adjustment", 30.0, "2021-06-01"),
        ("largest_adjustment", -12.0, "2021-05-23"),
    ])
    cells = {r["metric"]: r["cells"][0] for r in summary_rows(data)}
    down = cells["largest_downward_adjustment"]
    assert down.startswith("-26.28 %") and down.endswith(" on 2021-05-04 … 2021-05-23"), down
    # one run of three had an upward adjustment: no median, as `hashsim run` prints it
    assert cells["largest_upward_adjustment"] == "none in 2 of 3 runs"
    assert cells["trough_hashrate"].endswith(" on 2021-05-21")  # all runs agree: one date
    table = summary_table_html(data)
    assert "largest downward difficulty adjustment" in table
    assert "largest upward difficulty adjustment" in table
    assert "title='largest_adjustment'" not in table  # mixed signs: no median of it


def test_a_recovery_most_runs_never_reach_has_no_median() -> None:
    nan = float("nan")
    days = [10.0, nan, nan, 10.0, 20.0, nan, 10.0, 20.0, 30.0]
    dates = ["2021-06-01", "", "", "2021-06-01", "2021-06-11", "", "2021-06-01",
             "2021-06-11", "2021-06-21"]
    cells = [summary_rows(summary_data(
        [("days_to_recover_90", d, t) for d, t in zip(days[i:i + 3], dates[i:i + 3],
                                                       strict=True)]))[0]["cells"][0]
        for i in (0, 3, 6)]
    assert cells[0] == "not reached in 2 of 3 runs"
    # the run that never recovers ranks last: the median is the second of three
    assert cells[1] == ("20 days [10 – 20] (not reached in 1 of 3 runs) on "
                        "2021-06-01 … 2021-06-11")  # the unit once, not after each number
    assert cells[2].startswith("20 days [") and cells[2].endswith("2021-06-01 … 2021-06-21")


def test_the_report_of_a_run_shows_upward_and_downward_adjustments(report_html: str) -> None:
    assert "title='largest_downward_adjustment'" in report_html
    assert "title='largest_upward_adjustment'" in report_html
    assert "title='largest_adjustment'" not in report_html


# ---------------------------------------------------------------------------- in a browser


CHART_SIZES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(d => {
    const svg = d.querySelector('svg.main-svg'); const r = svg.getBoundingClientRect();
    return [d.id, r.width, r.height, d.querySelectorAll('.trace, .sankey').length]; })"""


@pytest.mark.browser
def test_the_report_works_offline_in_chromium(browser: Any, evil_dir: Path) -> None:
    path = write_report(load_run(evil_dir))
    page, seen = open_page(browser, path)
    try:
        assert seen["errors"] == [] and seen["console"] == [], seen
        assert seen["blocked"] == [], "the page tried to reach the network"
        charts = page.evaluate(CHART_SIZES)
        assert len(charts) >= 10
        for div, width, height, traces in charts:
            assert width > 300 and height > 200 and traces > 0, (div, width, height, traces)
        # A legend click hides a series and a second click brings it back.
        # (plotly waits out its double-click delay, 300 ms, before it toggles).
        hidden = ("() => document.getElementById('fig-hashrate-0').data"
                  ".some(t => t.visible === 'legendonly')")
        assert not page.evaluate(hidden)
        page.locator("#fig-hashrate-0 .legendtoggle").first.click()
        page.wait_for_function(hidden, timeout=5_000)
        page.locator("#fig-hashrate-0 .legendtoggle").first.click()
        page.wait_for_function(f"() => !({hidden})()", timeout=5_000)
        # Hostile names are shown as text and run nothing.
        assert seen["dialogs"] == []
        assert EVIL in page.inner_text("body")
        assert page.evaluate("document.querySelectorAll('[onmouseover], [onerror]').length") == 0
        legend = page.locator("#fig-regions-0 .legendtext").all_text_contents()
        assert "<b onmouseover=alert(3)>Blue</b>" in legend, legend
        legend = page.locator("#fig-pools-0 .legendtext").all_text_contents()
        assert "<i>bluepool</i>" in legend, legend
        page.locator("details summary").first.click()
        page.evaluate("window.scrollTo(0, 0)")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        assert (ARTIFACTS / "report.png").stat().st_size > 50_000
    finally:
        page.close()


@pytest.mark.browser
def test_an_experiment_report_renders_in_chromium(browser: Any, run_dir: Path,
                                                  tmp_path: Path) -> None:
    path = write_report(load_run(make_experiment(run_dir, tmp_path / "exp")))
    page, seen = open_page(browser, path)
    try:
        assert seen["errors"] == [] and seen["console"] == [] and seen["blocked"] == [], seen
        charts = {c[0]: c for c in page.evaluate(CHART_SIZES)}
        assert charts["fig-sensitivity"][3] > 0 and charts["fig-regions-0"][1] > 300
        page.screenshot(path=str(ARTIFACTS / "report-experiment.png"), full_page=False)
    finally:
        page.close()
