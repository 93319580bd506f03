"""Regenerate docs/validation.md and its figures (docs/validation/*.png) in one command.

    python scripts/validation_report.py                  # ~15 s on one core
    python scripts/validation_report.py --replicates 5   # more replicates per backtest

It runs the backtests of the bundled real-history scenarios (china-2021, sparkpool-2021,
wuhan-general-2018), each with the seed written in its file, plus the no-ban-2021
counterfactual, and writes the backtest tables, the headline figures, Sparkpool's pool
concentration, Wuhan General's monthly books against its claimed USD 3.5 M a month, and the
list of what the model does not reproduce. Nothing else is read or written; the page carries
no date, so an unchanged model and unchanged scenarios give an unchanged page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim import kernels  # noqa: E402
from sim.backtest import evaluate, objective, scores  # noqa: E402
from sim.results import Results, run  # noqa: E402
from sim.scenario import Scenario  # noqa: E402

DOC = ROOT / "docs" / "validation.md"
FIGURES = ROOT / "docs" / "validation"
DPI = 80
CLAIM_USD_PER_MONTH = 3.5e6  # Wuhan General, 2018-09-11 (pts: wuhan_general; seeds/001)

#: Why a check the model misses is missed (docs/scenarios.md has the longer story). A miss not
#: listed here is reported as "not explained yet".
WHY = {
    "retarget-2021-05-30": (
        "The real hash rate fell ~15 % from 14 May (epoch means 179 -> 151 EH/s), a week "
        "before the State Council's call of 21 May, as the difficulty rose 21.5 % and the "
        "price fell from 58 k to 37 k USD. The model's decline starts with the call, so its "
        "epoch ending ~27-28 May barely changes. Tried and not enough (docs/scenarios.md): "
        "Sichuan's power rationing of 16-25 May 2021 as an outage of half or all of Sichuan "
        "(late-May retarget +2 % or -1 %), a spread of power prices (an S9 breaks even above "
        "~0.08 USD/kWh at that hashprice, so nothing switches off), waiting after the call. "
        "The model lacks the early-May peak that the fall came from."),
    "retarget-2021-05-13": (
        "The early-May peak (~179 EH/s after the April outage's -12.6 % retarget) is not in "
        "the model, which grows smoothly to ~168 EH/s; the +21.5 % of 13 May comes out at "
        "about +8 % (the table above: its replicates' 5-95 % range is a point or two wide). "
        "Same missing mechanism as the late-May retarget: marginal rigs switching on "
        "and off with the hashprice."),
    "retarget-2021-07-17": (
        "Depends on the phase of the simulated epochs, which drift by days from the real ones; "
        "with some seeds the epoch after the record drop still contains the end of the "
        "trough. It sits on the band's lower edge (-10.8 %): these 3 replicates give about "
        "-11 %, `hashsim backtest china-2021` with its 5 about -10.6 % (held); it moved there "
        "when Iran's ban got its announced end (`expected_days`), which keeps Iran's rigs "
        "waiting at home instead of moving abroad in June."),
    "share-sparkpool-2021-09-27": (
        "PoolWatch's reading is 12 hours into the wind-down; the model's wind-down moves in "
        "whole days."),
    "share-kazakhstan-2022-01-31": (
        "Kazakhstan's January 2022 unrest, internet shutdown and power rationing are not "
        "modelled."),
}

#: Gaps that no single check shows, from docs/scenarios.md and docs/model.md.
GAPS = [
    "**Three hardware classes.** The oldest rig of the 2021 scenarios is the S9 (98 J/TH), "
    "which stays profitable at every hashprice of 2021 at Chinese power prices; the older, "
    "less efficient machines that real fleets still ran are missing, so a hashprice collapse "
    "switches nothing off (the mid-May 2021 fall, the early-May peak). A region's power-price "
    "spread and wait-and-see suspensions exist in the engine but do not change this.",
    "**Outages are modelled coarsely.** The April 2021 Xinjiang outage is a `power_outage` of "
    "whole days: every rig in the region stops and all return together, where the real grid "
    "came back farm by farm.",
    "**CBECI's 0 % for China in July-August 2021** is not reproduced (the model keeps "
    "4-19 % underground then): it is probably an artefact of proxies, since the network "
    "total leaves no room for a real 0 -> 22 % jump between August and September.",
    "**Fees are an input.** china-2021 takes BTC fees per block by month (1.08 BTC in April "
    "2021 down to 0.07-0.10 from August); they do not respond to congestion or to the "
    "hashrate.",
    "**Capacity growth abroad is an assumption** fitted as one factor (x0.4 of the first "
    "draft's build-out) to the whole backtest: it trades the recovery date and China's "
    "share against the 2022 level, which comes out ~10 % low (171-180 EH/s in January-March "
    "2022 against 190-202).",
    "**Pool concentration** treats each scenario's `others` (30-40 % of Ethereum's hash "
    "rate spread over dozens of pools) as one pool; the HHI and Nakamoto coefficient in "
    "summary.csv are therefore upper bounds (the table above gives both readings).",
    "**Hardware does not age and purchases are scheduled**, not induced by profitability; "
    "no price feedback from hashrate; pool luck is ignored.",
]


@dataclass
class Backtest:
    name: str
    scenario: Scenario
    results: Results
    table: pd.DataFrame
    score: dict[str, float]
    objective: float


def backtest(name: str, replicates: int) -> Backtest:
    scenario = sim.load(name)
    results = run(scenario, replicates=replicates, command=["scripts/validation_report.py"])
    table = evaluate(scenario, results.tables)
    return Backtest(name, scenario, results, table, scores(table, scenario, results.tables),
                    objective(scenario, results.tables))


# ----------------------------------------------------------------------------- markdown helpers
def md_table(header: list[str], rows: Iterable[list[str]], align: str = "") -> str:
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def show(value: Any, unit: str, rule: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    if unit == "date":
        return str(value)
    x = float(value)
    if unit == "H/s":
        return f"{x / (1e18 if rule == 'bitcoin' else 1e12):.1f}"
    if unit == "fraction":
        return f"{100 * x:.1f} %"
    if unit == "s":
        return f"{x / 60:.1f} min"
    return f"{x:+.1f} %" if unit == "%" else f"{x:.3g}"


def backtest_md(bt: Backtest) -> str:
    rule = next(c.rule for c in bt.scenario.coins if c.name == bt.scenario.observed.coin)  # type: ignore[union-attr]
    unit_h = "EH/s" if rule == "bitcoin" else "TH/s"
    rows = []
    for _, r in bt.table.iterrows():
        u = r["unit"]
        ok = {True: "yes", False: "**no**"}.get(r["within_band"], "")
        band = f"{show(r['low'], u, rule)} … {show(r['high'], u, rule)}"
        spread = f"{show(r['simulated_p05'], u, rule)} … {show(r['simulated_p95'], u, rule)}"
        rows.append([str(r["check"]), str(r["tier"]), str(r["date"]),
                     show(r["observed"], u, rule), band, show(r["simulated"], u, rule),
                     spread, ok])
    header = ["check", "tier", "date", "observed", "band", "simulated (median)", "5–95 %",
              "held"]
    return (f"Hash rates in {unit_h} (7-day means), shares in % of the network, adjustments in "
            f"%, block times in minutes.\n\n" + md_table(header, rows, "lllrrrrl"))


def score_line(bt: Backtest) -> list[str]:
    s = bt.score
    held = int(s["headline_banded"] - s["headline_misses"])
    sec = bt.table[bt.table["tier"] == "secondary"].dropna(subset=["within_band"])
    return [f"`{bt.name}`", str(bt.results.replicates), str(bt.results.seed),
            f"{held} of {int(s['headline_banded'])}",
            f"{int(sec['within_band'].astype(bool).sum())} of {len(sec)}",
            f"{s['nrmse']:.3f}", f"{bt.objective:.3f}"]


# ------------------------------------------------------------------------------------ figures
def save(data: Any, figure: str, target: Path, decorate: Any = None) -> Path:
    """One sim.plots figure as a small PNG (DPI dots per inch)."""
    import matplotlib

    from sim import plots

    style: dict[str, Any] = dict(cast(dict[str, Any], plots.STYLE))
    style["savefig.dpi"] = DPI
    with matplotlib.rc_context(cast(Any, style)):
        fig = plots.FIGURE_FUNCS[figure](data)
        if decorate is not None:
            decorate(fig)
        fig.savefig(target, format="png", metadata={"Software": "hashsim"})
    return target


def with_arms(runs: dict[str, Results], scenario: Scenario) -> Any:
    """Several runs as one RunData whose arms are the scenario names (observed from
    `scenario`)."""
    from sim.rundata import TABLES, RunData

    tables = {n: pd.concat([r.tables[n].assign(arm=arm) for arm, r in runs.items()],
                           ignore_index=True) for n in TABLES if n != "summary"}
    return RunData(scenario.name, scenario.model_dump(mode="json"), tables)


def draw_claim(fig: Any) -> None:
    for ax in fig.axes:
        if ax.get_ylabel().startswith("USD million"):
            ax.axhline(CLAIM_USD_PER_MONTH / 1e6, color="black", ls=":", lw=1.2,
                       label="claimed (> 3.5 M USD)")
            ax.legend(loc="upper left")


# ----------------------------------------------------------------------------------- sections
def china_section(bt: Backtest, noban: Results) -> tuple[str, list[Path]]:
    from sim.rundata import RunData

    FIGURES.mkdir(parents=True, exist_ok=True)
    both = with_arms({"china-2021": bt.results, "no-ban-2021": noban}, bt.scenario)
    figs = [save(both, "hashrate", FIGURES / "china-hashrate.png"),
            save(RunData.from_results(bt.results), "difficulty", FIGURES / "china-difficulty.png"),
            save(RunData.from_results(bt.results), "regions", FIGURES / "china-regions.png")]
    reg = bt.results.tables["regions"]
    china = reg[(reg["region"] == "china") & (reg["replicate"] == 0)].copy()
    china["date"] = pd.to_datetime(china["date"])
    rows = []
    for day in ("2021-05-13", "2021-07-02", "2021-07-31", "2021-08-31", "2021-09-30",
                "2021-12-31", "2022-01-31", "2022-03-31"):
        r = china[china["date"] == day].iloc[0]
        rows.append([day, f"{100 * r['share']:.1f} %", f"{r['hashrate_hs'] / 1e18:.1f}",
                     f"{r['rigs_online'] / 1e6:.2f}", f"{r['rigs_underground'] / 1e6:.2f}",
                     f"{r['rigs_banned_off'] / 1e6:.2f}", f"{r['rigs_retired'] / 1e6:.2f}"])
    nb = noban.tables["regions"]
    nb = nb[(nb["region"] == "china") & (nb["replicate"] == 0)]
    nb_share = nb.set_index(pd.to_datetime(nb["date"]))["share"]
    text = f"""## china-2021

{score_sentence(bt)}

{backtest_md(bt)}

![Network hash rate: china-2021 and the no-ban counterfactual against blockchain.com's 7-day \
mean](validation/china-hashrate.png)

![Difficulty and block time of china-2021](validation/china-difficulty.png)

![Regional shares of the hash rate, china-2021](validation/china-regions.png)

Mainland China in the first replicate (rigs in millions): near zero at the trough, then back
through underground mining, which the calibrated detection hazard (0.00041/day) lets persist.
CBECI located 22.3 % in September 2021 and 21.1 % in January 2022 (0 % in July-August, see
below).

{md_table(["date", "China's share", "EH/s", "online", "underground", "forced off",
           "retired"], rows)}

The counterfactual `no-ban-2021` (same world, no crackdown; {noban.replicates} replicate, seed
{noban.seed}) keeps China at {100 * nb_share.loc['2021-07-02']:.0f} % on 2 July 2021 and
{100 * nb_share.loc['2021-12-31']:.0f} % at the end of 2021, with no trough: its 7-day mean
never falls below {min_ratio(noban):.0%} of its 13 May level in June-August (china-2021:
{min_ratio(bt.results):.0%}).
"""
    return text, figs


def min_ratio(results: Results) -> float:
    net = results.tables["network"]
    net = net[net["replicate"] == 0]
    m7 = pd.Series(net["hashrate_hs"].rolling(7, min_periods=1).mean().to_numpy(),
                   index=pd.to_datetime(net["date"]))
    return float(m7.loc["2021-06-01":"2021-08-31"].min() / m7.loc["2021-05-13"])


def sparkpool_section(bt: Backtest) -> tuple[str, list[Path]]:
    from sim.rundata import RunData

    data = RunData.from_results(bt.results)
    figs = [save(data, "pools", FIGURES / "sparkpool-pools.png"),
            save(data, "hashrate", FIGURES / "sparkpool-hashrate.png")]
    summary = bt.results.tables["summary"]
    pools = bt.results.tables["pools"]
    rows = []
    for label, metric_day in (("before", "pool_hhi_before"), ("after", "pool_hhi_after")):
        per = summary[summary["metric"] == metric_day]
        day = dt.date.fromisoformat(str(per["date"].iloc[0]))
        hhi = per["value"].median()
        nak = summary[summary["metric"] == f"nakamoto_{label}"]["value"].median()
        shares = pools[(pools["date"] == day) & (pools["replicate"] == 0)].set_index("pool")
        named = shares.drop(index="others")["share"].to_numpy()
        # 'others' atomised: its pools are each far smaller than the named ones
        rows.append([label, str(day), f"{hhi:.3f}", f"{kernels.hhi(named):.3f}",
                     f"{nak:.0f}", str(nakamoto_atomised(named)),
                     " · ".join(f"{p} {100 * s:.1f} %" for p, s in
                                shares["share"].sort_values(ascending=False).items())])
    table = md_table(["", "date", "HHI (summary.csv)", "HHI, `others` atomised",
                      "Nakamoto (summary.csv)", "Nakamoto, `others` atomised",
                      "pool shares (first replicate)"], rows, "llrrrrl")
    text = f"""## sparkpool-2021

{score_sentence(bt)}

{backtest_md(bt)}

![Pool shares of Ethereum's hash rate, sparkpool-2021](validation/sparkpool-pools.png)

![Ethereum network hash rate against Glassnode's 7-day mean](validation/sparkpool-hashrate.png)

Pool concentration before and after the closure. `summary.csv` counts the scenario's `others`
(dozens of small pools together) as one pool, which overstates concentration; the "atomised"
columns count them as negligible pools (a lower bound for the HHI). Either way Sparkpool's
miners spread over the remaining pools in proportion to their size (the pool-choice logit
weighs log share by 1), so the closure concentrates the network on Ethermine.

{table}
"""
    return text, figs


def nakamoto_atomised(named: np.ndarray) -> int | str:
    """Fewest named pools holding more than half, the small pools of `others` not counted."""
    s = np.sort(named)[::-1]
    cum = np.cumsum(s)
    hit = np.flatnonzero(cum > 0.5)
    return int(hit[0] + 1) if len(hit) else f"> {len(s)}"


def wuhan_section(bt: Backtest) -> tuple[str, list[Path]]:
    from sim.rundata import RunData

    data = RunData.from_results(bt.results)
    figs = [save(data, "facilities", FIGURES / "wuhan-books.png", draw_claim)]
    fac = bt.results.tables["facilities"]
    fac = fac[fac["facility"] == "wuhan-general"].copy()
    fac["month"] = pd.to_datetime(fac["date"]).dt.to_period("M")
    per = fac.groupby(["replicate", "month"]).agg(
        revenue=("revenue_usd", "sum"), cost=("cost_usd", "sum"), rigs=("rigs", "last"),
        used=("used_mw", "last"), capacity=("capacity_mw", "last")).reset_index()
    books = per.groupby("month").agg(
        revenue=("revenue", "median"), lo=("revenue", "min"), hi=("revenue", "max"),
        cost=("cost", "median"), rigs=("rigs", "median"), used=("used", "median"),
        capacity=("capacity", "median"))
    rows = [[str(m), f"{b.capacity:.0f}", f"{b.used:.1f}", f"{b.rigs:,.0f}",
             f"{b.revenue / 1e6:.2f}", f"{b.lo / 1e6:.2f} … {b.hi / 1e6:.2f}",
             f"{b.cost / 1e6:.2f}", f"{(b.revenue - b.cost) / 1e6:+.2f}",
             "yes" if b.revenue > CLAIM_USD_PER_MONTH else ""]
            for m, b in books.iterrows()]
    over = [str(m) for m, b in books.iterrows() if b.revenue > CLAIM_USD_PER_MONTH]
    start = books.loc[pd.Period("2018-11", "M"):pd.Period("2019-03", "M"), "revenue"]
    full = books.loc[pd.Period("2019-10", "M"):pd.Period("2019-12", "M"), "revenue"]
    verdict = (
        f"With the 1,300 rigs of the first 3 MW (November 2018 - March 2019) the facility "
        f"earns {start.min() / 1e6:.2f}-{start.max() / 1e6:.2f} M USD a month, about a tenth "
        f"of the claim. Revenue reaches the claimed 3.5 M USD only in "
        f"{', '.join(over) if over else 'no month'} (9,300 rigs and bitcoin at 10-12 k USD); "
        f"with the full 30 MW (13,300 rigs, October-December 2019) it earns "
        f"{full.min() / 1e6:.1f}-{full.max() / 1e6:.1f} M USD a month, because the network's "
        f"hash rate doubled in 2019 while the price fell back. So the claim was plausible only "
        f"for the finished 30 MW build-out at mid-2019 prices, never for the site as "
        f"announced; and it is revenue, not profit (power at 0.05 USD/kWh and 50,000 USD of "
        f"fixed costs take ~1 M USD a month at 30 MW). The rig model (ASICminer 8 Nano) and "
        f"the build-out dates are assumptions (docs/scenarios.md).")
    text = f"""## wuhan-general-2018

{score_sentence(bt)}

{backtest_md(bt)}

![Wuhan General: capacity, use and monthly books against the claimed 3.5 M USD a \
month](validation/wuhan-books.png)

**Was "over USD 3.5 M a month" plausible?** {verdict}

Monthly books (median of replicates; revenue range over replicates; USD million):

{md_table(["month", "capacity MW", "used MW", "rigs", "revenue", "range", "cost", "profit",
           "> 3.5 M"], rows)}
"""
    return text, figs


def score_sentence(bt: Backtest) -> str:
    s = bt.score
    held = int(s["headline_banded"] - s["headline_misses"])
    return (f"`hashsim backtest {bt.name} -r {bt.results.replicates}` (seed {bt.results.seed}): "
            f"{held} of {int(s['headline_banded'])} headline bands held, "
            f"{int(s['hits'])} of {int(s['banded'])} bands in all; NRMSE of the 7-day mean "
            f"{s['nrmse']:.3f}; calibration objective {bt.objective:.3f}.")


def misses_md(bts: list[Backtest]) -> str:
    lines = []
    for bt in bts:
        missed = bt.table[bt.table["within_band"].apply(lambda v: v is False)]
        for _, r in missed.iterrows():
            why = WHY.get(str(r["check"]), "not explained yet")
            lines.append(f"- `{bt.name}` **{r['check']}** ({r['tier']}): {why}")
    if not lines:
        lines.append("- every banded check holds")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-r", "--replicates", type=int, default=3,
                        help="replicates per backtest [3]")
    args = parser.parse_args()
    bts = [backtest(n, args.replicates) for n in
           ("china-2021", "sparkpool-2021", "wuhan-general-2018")]
    noban = run(sim.load("no-ban-2021"), replicates=1, command=["scripts/validation_report.py"])
    FIGURES.mkdir(parents=True, exist_ok=True)
    for old in FIGURES.glob("*.png"):
        old.unlink()
    parts, figs = [], []
    for section in (china_section(bts[0], noban), sparkpool_section(bts[1]),
                    wuhan_section(bts[2])):
        parts.append(section[0])
        figs += section[1]
    summary = md_table(["scenario", "replicates", "seed", "headline held", "secondary held",
                        "NRMSE", "objective"], [score_line(bt) for bt in bts])
    page = f"""# Validation: the bundled scenarios against history

Generated by `python scripts/validation_report.py` (do not edit by hand): the backtests of
the three real-history scenarios, each run with the seed in its file and
{args.replicates} replicates, and the no-ban counterfactual. The scenarios, their sources and
the calibration record are in [scenarios.md](scenarios.md); what a check means is in
[scenario-format.md](scenario-format.md) (`observed.checks`). A band is held when the median
of the replicates lies inside it; headline bands decide `hashsim backtest`'s exit code.

{summary}

{chr(10).join(parts)}
## What the model does not reproduce

Checks missed in the runs above, and why:

{misses_md(bts)}

Gaps that no single check shows:

{chr(10).join('- ' + g for g in GAPS)}
"""
    DOC.write_text(page, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)} and {len(figs)} figures in "
          f"{FIGURES.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
