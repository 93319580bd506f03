#!/usr/bin/env python3
"""Regenerate the small reference tables in ``sim/reference/`` from ``../shared/data``.

The raw files in ``../shared/data`` belong to their publishers (Cambridge CCAF/CBECI,
blockchain.com, Glassnode, F2Pool) and must never be copied into the project. This script
carries figures over into the project's own small, derived tables, each with its source named
in a leading ``# source: ...`` comment line (read them with ``pandas.read_csv(...,
comment="#")``) and in ``sim/reference/SOURCES.md``.

It is run by hand; the tables it writes are committed::

    python scripts/derive_reference.py                 # write every table
    python scripts/derive_reference.py --check         # fail if a committed table is stale
    python scripts/derive_reference.py --price-yaml 2021-04-01 2022-03-31
                                                       # print a scenario `price.points` block
    python scripts/derive_reference.py --fees-yaml 2021-04 2022-03
                                                       # print a coin's fee lines (monthly)

Assumptions (hardware mix by generation, Texas's share of the US, the Ethereum mainland share,
the 2018 regional split) live in the constants below, each with its reasoning; they feed only
``initial_fleet.csv``, which documents how the scenarios' fleets were sized.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import math
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "sim" / "reference"

BLOCKCHAIN_COM = "btc_daily_blockchaincom_2019-2022.csv"
GLASSNODE = "btc_eth_daily_glassnode_2019-2022.csv"
EPOCHS = "btc_difficulty_epochs_2019-2022_derived.csv"
CBECI_COUNTRIES = "cbeci_mining_countries_2019-09_2021-05.csv"
CBECI_PROVINCES = "cbeci_mining_provinces_china_2019-09_2021-05.csv"
CBECI_HARDWARE = "cbeci_hardware_efficiency_2021-02.json"
F2POOL = "f2pool_mining_devices_2020-03.csv"
POINTS = "sourced_point_figures.csv"

SRC_BLOCKCHAIN_COM = (
    "blockchain.com chart exports (hash-rate, difficulty, market-price) via the public repo "
    "notp1ssed/ProjetoFinal-PosGraduacaoEngenhariaFinanceira"
)
SRC_GLASSNODE = (
    "Glassnode-style daily series via the public repo "
    "cedav12/Impact-of-total-transaction-fees-on-the-price-of-Bitcoin-and-Ethereum"
)
SRC_CBECI = "Cambridge CBECI mining map (ccaf.io/cbeci/mining_map)"

SUBSIDY_BTC = (
    (dt.date(2016, 7, 9), 12.5),
    (dt.date(2020, 5, 11), 6.25),
    (dt.date(2024, 4, 20), 3.125),
)  # halving dates (UTC)
TH = 1e12
EH = 1e18


# ---------------------------------------------------------------------------- reading


class MissingData(SystemExit):
    """The reference data folder or one of its files is absent."""


def need(data: Path, name: str) -> Path:
    path = data / name
    if not path.is_file():
        raise MissingData(
            f"derive_reference: {path} is missing.\n"
            f"This script reads the raw reference data in ../shared/data (next to the project "
            f"checkout); pass --data DIR if it lives elsewhere. The derived tables in "
            f"{OUT.relative_to(ROOT)} are committed, so the project itself does not need it."
        )
    return path


def read_blockchain_com(data: Path) -> pd.DataFrame:
    df = pd.read_csv(need(data, BLOCKCHAIN_COM), parse_dates=["date"]).set_index("date")
    df["hashrate_ehs"] = df["hashrate_ths"] / 1e6  # TH/s → EH/s
    return df


def read_glassnode(data: Path) -> pd.DataFrame:
    return pd.read_csv(need(data, GLASSNODE), parse_dates=["date"]).set_index("date")


def subsidy_on(day: pd.Timestamp) -> float:
    """Bitcoin block subsidy (BTC) in force on `day` (halving dates from the chain)."""
    subsidy = 25.0
    for date, value in SUBSIDY_BTC:
        if day.date() >= date:
            subsidy = value
    return subsidy


def blocks_per_day(glassnode: pd.DataFrame) -> pd.Series:
    """Blocks mined each day = new BTC issued / subsidy (exact where no halving falls that day)."""
    subsidy = pd.Series([subsidy_on(d) for d in glassnode.index], index=glassnode.index)
    return glassnode["btc_new_issued_btc"] / subsidy


def trailing_7d(series: pd.Series) -> pd.Series:
    """Mean of the 7 days ending on (and including) each date."""
    return series.rolling(7, min_periods=7).mean()


def read_points(data: Path) -> pd.DataFrame:
    return pd.read_csv(need(data, POINTS))


def point(points: pd.DataFrame, topic: str, metric_prefix: str) -> pd.Series:
    """The one sourced point figure of `topic` whose metric starts with `metric_prefix`."""
    rows = points[(points["topic"] == topic) & points["metric"].str.startswith(metric_prefix)]
    if len(rows) != 1:
        raise SystemExit(
            f"derive_reference: expected one point '{topic}: {metric_prefix}…', "
            f"found {len(rows)} in {POINTS}"
        )
    return rows.iloc[0]


# ---------------------------------------------------------------------------- tables


def btc_weekly(data: Path, first: str, last: str) -> pd.DataFrame:
    """7-day mean hashrate (EH/s) and price on every Monday between `first` and `last`."""
    bc = read_blockchain_com(data)
    gn = read_glassnode(data)
    blocks = blocks_per_day(gn)
    mondays = pd.date_range(first, last, freq="W-MON")
    out = pd.DataFrame(index=mondays)
    out["hashrate_ehs_7d_mean"] = trailing_7d(bc["hashrate_ehs"]).reindex(mondays).round(2)
    out["hashrate_ehs_7d_mean_glassnode"] = (
        trailing_7d(gn["btc_hashrate_ehs"]).reindex(mondays).round(2)
    )
    out["btc_usd_close"] = bc["btc_usd"].reindex(mondays).round(2)
    out["btc_usd_close_7d_mean"] = trailing_7d(bc["btc_usd"]).reindex(mondays).round(2)
    out["blocks_7d"] = blocks.rolling(7, min_periods=7).sum().reindex(mondays).round(0)
    fees = gn["btc_total_fees_btc"].rolling(7, min_periods=7).sum().reindex(mondays)
    out["fees_per_block_btc_7d"] = (fees / out["blocks_7d"]).round(4)
    out.index.name = "date"
    return out.reset_index()


def difficulty_epochs(data: Path) -> pd.DataFrame:
    ep = pd.read_csv(need(data, EPOCHS))
    ep["date"] = pd.to_datetime(ep["adjustment_date_utc_approx"])
    # Mean block time of the epoch that ended at this retarget, from the retarget rule
    # new/old = 2016·600 s / actual  ⇒  actual/2016 = 600 s · old/new (no clamp was hit).
    ep["prev_epoch_mean_block_time_min"] = (
        600.0 * ep["difficulty"].shift(1) / ep["difficulty"] / 60.0
    ).round(2)
    in_force_2021 = ep[ep["date"] <= "2021-01-01"].tail(1)
    window = ep[(ep["date"] >= "2021-01-01") & (ep["date"] <= "2022-06-30")]
    out = pd.concat([in_force_2021, window])
    return pd.DataFrame(
        {
            "epoch_start_height": out["epoch_start_height"],
            "date_approx": out["date"].dt.date,
            "difficulty": out["difficulty"].astype("int64"),
            "pct_change": out["pct_change"],
            "days_since_prev": out["days_since_prev_adjustment"],
            "prev_epoch_mean_block_time_min": out["prev_epoch_mean_block_time_min"],
        }
    )


def btc_price_daily(data: Path) -> pd.DataFrame:
    bc = read_blockchain_com(data)
    out = bc.loc["2021-04-01":"2022-03-31", ["btc_usd"]]  # china-2021's year: what it reads
    out = out.rename(columns={"btc_usd": "btc_usd_close"})
    out.index.name = "date"
    return out.reset_index().assign(date=lambda d: d["date"].dt.date)


def btc_fees_monthly(data: Path) -> pd.DataFrame:
    gn = read_glassnode(data).loc["2021-01-01":]
    # Glassnode's issuance column ends on 2022-03-26: count only days with both series.
    gn = gn[gn["btc_new_issued_btc"].notna() & gn["btc_total_fees_btc"].notna()]
    blocks = blocks_per_day(gn)
    months = gn.index.to_period("M")
    fees = gn["btc_total_fees_btc"].groupby(months).sum()
    nblocks = blocks.groupby(months).sum()
    days = gn["btc_total_fees_btc"].groupby(months).size()
    out = pd.DataFrame(
        {
            "month": fees.index.astype(str),
            "days_with_data": days.to_numpy(),
            "fees_btc": fees.round(2).to_numpy(),
            "blocks": nblocks.round(0).astype("int64").to_numpy(),
            "fees_per_block_btc": (fees / nblocks).round(4).to_numpy(),
            "fees_per_block_btc_at_144_per_day": (fees / (144 * days)).round(4).to_numpy(),
        }
    )
    return out[out["days_with_data"] >= 20]


CBECI_COUNTRY_REGION = {
    "Mainland China": "china",
    "Germany *": "china",  # VPN-inflated (CBECI's asterisk): counted as Chinese miners
    "Ireland *": "china",
    "United States": "united_states",
    "Kazakhstan": "kazakhstan",
    "Russian Federation": "russia",
    "Canada": "canada",
    "Malaysia": "malaysia",
    "Iran, Islamic Rep.": "iran",
    "Other": "rest_of_world",
}
CBECI_NOTES = {
    "Germany *": "VPN-inflated per CBECI; assumption: Chinese miners behind VPNs, counted as china",
    "Ireland *": "VPN-inflated per CBECI; assumption: Chinese miners behind VPNs, counted as china",
    "Other": "every other country: rest_of_world",
}
CBECI_PROVINCE_REGION = {
    "Xinjiang": "xinjiang",
    "Sichuan": "sichuan",
    "Yunnan": "yunnan",
    "Nei Mongol": "inner_mongolia",
    "Qinghai": "qinghai",
    "Beijing": "rest_of_china",
    "Gansu": "rest_of_china",
    "Shanxi": "rest_of_china",
    "Other": "rest_of_china",
}


def cbeci_shares(data: Path) -> pd.DataFrame:
    countries = pd.read_csv(need(data, CBECI_COUNTRIES))
    countries["share_pct"] = countries["monthly_hashrate_%"].str.rstrip("%").astype(float)
    countries = countries.rename(columns={"country": "cbeci_name"}).assign(level="country")
    provinces = pd.read_csv(need(data, CBECI_PROVINCES)).rename(
        columns={"Date": "date", "Province": "cbeci_name", "Share of Chinese hashrate": "share_pct"}
    )
    provinces = provinces.assign(level="province_of_china")
    rows = []
    for frame, mapping in ((countries, CBECI_COUNTRY_REGION), (provinces, CBECI_PROVINCE_REGION)):
        sel = frame[frame["date"].isin(["2021-04-01", "2021-05-01"])]
        wide = sel.pivot_table(index=["level", "cbeci_name"], columns="date", values="share_pct")
        for (level, name), values in wide.iterrows():
            if name not in mapping:
                raise SystemExit(f"derive_reference: CBECI name {name!r} has no model region")
            apr, may = values["2021-04-01"], values["2021-05-01"]
            rows.append(
                {
                    "level": level,
                    "cbeci_name": name,
                    "model_region": mapping[name],
                    "share_2021_04_pct": apr,
                    "share_2021_05_pct": may,
                    "share_mean_pct": round((apr + may) / 2, 3),
                    "note": CBECI_NOTES.get(name, "") if level == "country" else "",
                }
            )
    out = pd.DataFrame(rows).sort_values(["level", "share_mean_pct"], ascending=[True, False])
    return out


# Hardware: (name, coin, class, hashrate H/s, power W, release, price_usd_2021, source, status)
# `price_usd_2021` is an assumption except where a source says otherwise (see SOURCES.md).
def hardware(data: Path) -> pd.DataFrame:
    cbeci = pd.read_json(need(data, CBECI_HARDWARE))
    cbeci.columns = ["model", "release_unix", "j_per_gh"]
    f2 = pd.read_csv(need(data, F2POOL), encoding="utf-8-sig")
    f2.columns = [c.strip() for c in f2.columns]
    points = read_points(data)

    def cbeci_j_per_th(model: str) -> float:
        return float(cbeci.loc[cbeci["model"].str.strip() == model, "j_per_gh"].iloc[0]) * 1000

    def cbeci_release(model: str) -> str:
        unix = int(cbeci.loc[cbeci["model"].str.strip() == model, "release_unix"].iloc[0])
        return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m")

    def f2pool(device: str) -> tuple[float, float, str]:
        row = f2[f2["Device"].str.strip() == device].iloc[0]
        return (
            float(row["Hashrate (T)"]),
            float(row["Power Consumption (W)"]),
            f"{int(row['Year Released'])}-{int(row['Month Released']):02d}",
        )

    rows: list[dict[str, object]] = []

    def add(
        name: str,
        cls: str,
        ths: float,
        watts: float,
        release: str,
        price: float | None,
        source: str,
        status: str,
        coin: str = "bitcoin",
    ) -> None:
        rows.append(
            {
                "name": name,
                "coin": coin,
                "class": cls,
                "hashrate_hs": round(ths * TH),
                "hashrate_display": f"{ths:g} TH/s" if ths >= 1 else f"{ths * 1e6:g} MH/s",
                "power_w": round(watts),
                "j_per_th": round(watts / ths, 1) if coin == "bitcoin" else None,
                "release": release,
                "price_usd_2021": price,
                "source": source,
                "status": status,
            }
        )

    # S9 class (2016–2018 designs, ~100 J/TH).
    j = cbeci_j_per_th("Bitmain Antminer S9 (14Th)")
    add(
        "antminer-s9",
        "s9",
        14,
        14 * j,
        cbeci_release("Bitmain Antminer S9 (14Th)"),
        300,
        f"CBECI efficiency {j:g} J/TH x 14 TH/s",
        "derived",
    )
    ths, w, rel = f2pool("Antminer T9+")
    j = cbeci_j_per_th("Bitmain Antminer T9+ (10.5Th)")
    add(
        "antminer-t9plus",
        "pre-s9",
        ths,
        w,
        rel,
        150,
        f"F2Pool list {ths:g} TH/s {w:g} W (CBECI {j:g} J/TH agrees)",
        "quoted",
    )
    j = cbeci_j_per_th("ASICminer 8 Nano 44Th")
    add(
        "asicminer-8-nano",
        "s15",
        44,
        44 * j,
        cbeci_release("ASICminer 8 Nano 44Th"),
        None,
        f"CBECI 'ASICminer 8 Nano 44Th' {j:g} J/TH x 44 TH/s",
        "derived",
    )
    # S17 class (2019, 40–55 J/TH).
    for device, name, price in (
        ("Antminer S17 Pro", "antminer-s17-pro", 2500),
        ("Antminer T17", "antminer-t17", 1500),
        ("Antminer S17+", "antminer-s17plus", 3500),
        ("Whatsminer M20S", "whatsminer-m20s", 2500),
    ):
        ths, w, rel = f2pool(device)
        add(
            name, "s17", ths, w, rel, price, f"F2Pool list 2020-03: {ths:g} TH/s, {w:g} W", "quoted"
        )
    # S19 class (2020–2021, 30–38 J/TH).
    for device, name, price in (
        ("Antminer S19", "antminer-s19", 8000),
        ("Whatsminer M30S", "whatsminer-m30s", 7000),
    ):
        ths, w, rel = f2pool(device)
        add(
            name, "s19", ths, w, rel, price, f"F2Pool list 2020-03: {ths:g} TH/s, {w:g} W", "quoted"
        )
    s19pro = point(points, "hardware", "Antminer S19 Pro")
    add(
        "antminer-s19-pro",
        "s19",
        110,
        3250,
        "2020-02",
        12000,
        f"{s19pro['source']} (110 TH/s, 3250 W); price: WSJ 2021-08 'new machine ~12,000 USD'",
        "quoted",
    )
    s19j = point(points, "hardware", "Antminer S19j Pro")
    add(
        "antminer-s19j-pro",
        "s19",
        100,
        3050,
        "2021",
        10000,
        f"{s19j['source']} (100 TH/s, 3050 W)",
        "quoted",
    )
    j = cbeci_j_per_th("MicroBT Whatsminer M30S++")
    add(
        "whatsminer-m30splus2",
        "s19",
        3472 / j,
        3472,
        cbeci_release("MicroBT Whatsminer M30S++"),
        11000,
        f"CBECI {j:g} J/TH with 3472 W (asicWattList.ts) => {3472 / j:.0f} TH/s",
        "derived",
    )
    xp = point(points, "hardware", "Antminer S19 XP")
    add(
        "antminer-s19-xp",
        "s19xp",
        140,
        3010,
        "2022-07",
        None,
        f"{xp['source']} (140 TH/s, 3010 W; announced 2021-11, shipped Q3 2022)",
        "quoted",
    )
    # Ethash GPU rig: an assumption (see SOURCES.md for the reasoning).
    add(
        "gpu-rig-6x3070",
        "ethash-gpu",
        360e-6,
        1000,
        "2020-10",
        6000,
        "assumption: 6 x RTX 3070-class cards at ~60 MH/s and ~130 W each, plus board, CPU and "
        "PSU losses",
        "assumption",
        coin="ethereum",
    )
    return pd.DataFrame(rows)


def eth_daily(data: Path) -> pd.DataFrame:
    gn = read_glassnode(data)
    sel = gn.loc["2021-09-01":"2021-10-31"]
    out = pd.DataFrame(
        {
            "date": sel.index.date,
            "eth_hashrate_ths": sel["eth_hashrate_ths"].to_numpy(),
            "eth_hashrate_ths_7d_mean": trailing_7d(gn["eth_hashrate_ths"])
            .loc[sel.index]
            .round(2)
            .to_numpy(),
            "eth_usd_close": sel["eth_close_usd"].to_numpy(),
            "eth_fees_total_eth": sel["eth_total_fees_eth"].to_numpy(),
        }
    )
    return out



def _row_adder(rows: list[dict[str, object]]) -> Callable[..., None]:
    """`add(metric, date, value, unit, low, high, tier, source, note="")` appends one observed
    figure to `rows`."""

    def add(metric: str, date: str, value: object, unit: str, low: object, high: object,
            tier: str, source: str, note: str = "") -> None:
        rows.append({"metric": metric, "date": date, "value": value, "unit": unit, "low": low,
                     "high": high, "tier": tier, "source": source, "note": note})

    return add

def observed_china(data: Path) -> pd.DataFrame:
    bc = read_blockchain_com(data)
    h7 = trailing_7d(bc["hashrate_ehs"])
    ep = difficulty_epochs(data)
    pts = read_points(data)
    src_bc = "blockchain.com hash rate, 7-day trailing mean (btc_2021_weekly.csv)"
    rows: list[dict[str, object]] = []

    add = _row_adder(rows)

    def h(date: str) -> float:
        return round(float(h7.loc[date]), 1)

    add(
        "hashrate_7d_mean",
        "2021-04-01",
        h("2021-04-01"),
        "EH/s",
        round(h("2021-04-01") * 0.97, 1),
        round(h("2021-04-01") * 1.03, 1),
        "secondary",
        src_bc,
        "scenario start: the initial fleet is sized to this value",
    )
    peak_day = h7.loc["2021-05-01":"2021-05-31"].idxmax().date().isoformat()
    add(
        "hashrate_7d_mean_peak",
        peak_day,
        h(peak_day),
        "EH/s",
        165.0,
        195.0,
        "secondary",
        src_bc,
        "mid-May peak before the crackdown; band allows +-8 % for the purchase rate",
    )
    trough_day = h7.loc["2021-06-01":"2021-08-31"].idxmin().date().isoformat()
    add(
        "hashrate_7d_mean_trough",
        trough_day,
        h(trough_day),
        "EH/s",
        70.0,
        100.0,
        "headline",
        src_bc + "; thecryptobasic.com 2021-07-03 quotes 7-day MA 136.47 -> 85 EH/s",
        "issue: trough 85 +- 15 EH/s around 2 July",
    )
    add(
        "trough_date",
        trough_day,
        trough_day,
        "date",
        "2021-06-25",
        "2021-07-12",
        "headline",
        src_bc,
        "around 2 July; band one week either side, later side allows the retarget lag",
    )
    peak = float(h7.loc[peak_day])
    trough = float(h7.loc[trough_day])
    add(
        "drop_peak_to_trough",
        trough_day,
        round(100 * (trough / peak - 1), 1),
        "%",
        -60.0,
        -40.0,
        "secondary",
        src_bc,
        "derived from the two rows above",
    )
    for month_end in pd.date_range("2021-05-31", "2022-03-31", freq="ME"):
        d = month_end.date().isoformat()
        v = h(d)
        add(
            "hashrate_7d_mean",
            d,
            v,
            "EH/s",
            round(v * 0.85, 1),
            round(v * 1.15, 1),
            "secondary",
            src_bc,
            "month end; band +-15 % (estimator noise ~5 %, model calibration ~10 %)",
        )
    full = h7.loc["2021-07-03":]
    rec100 = full[full >= peak].index[0].date().isoformat()
    rec90 = full[full >= 0.9 * peak].index[0].date().isoformat()
    add(
        "recovery_to_may_peak_date",
        rec100,
        rec100,
        "date",
        "2021-11-01",
        "2022-02-28",
        "headline",
        src_bc + "; news.bitcoin.com estimator reported an ATH of 194.95 EH/s on 2021-12-08",
        "first day the 7-day mean is back at the May peak; issue: Nov 2021 - Feb 2022",
    )
    add(
        "recovery_to_90pct_date",
        rec90,
        rec90,
        "date",
        "2021-10-01",
        "2021-12-31",
        "secondary",
        src_bc,
        "first day the 7-day mean is back at 90 % of the May peak",
    )
    monthly = bc["hashrate_ehs"].resample("MS").mean()
    may, jun, jul, aug = (
        float(monthly.loc[m]) for m in ("2021-05-01", "2021-06-01", "2021-07-01", "2021-08-01")
    )
    cbeci_pt = point(pts, "btc_hashrate", "CBECI: drop")
    add(
        "monthly_mean_change_may_to_jul",
        "2021-07-31",
        round(100 * (jul / may - 1), 1),
        "%",
        -48.0,
        -28.0,
        "secondary",
        f"{cbeci_pt['source']} (-38 %); blockchain.com monthly means",
        f"monthly means May {may:.1f} -> Jun {jun:.1f} -> Jul {jul:.1f} EH/s",
    )
    add(
        "monthly_mean_change_jul_to_aug",
        "2021-08-31",
        round(100 * (aug / jul - 1), 1),
        "%",
        10.0,
        30.0,
        "secondary",
        f"{cbeci_pt['source']} (+20 %); blockchain.com monthly means",
        f"Jul {jul:.1f} -> Aug {aug:.1f} EH/s",
    )
    window = ep[
        (pd.to_datetime(ep["date_approx"]) >= "2021-05-01")
        & (pd.to_datetime(ep["date_approx"]) <= "2022-02-28")
    ]
    src_ep = (
        "blockchain.com difficulty via btc_difficulty_epochs_2019-2022_derived.csv (dates +-1 day)"
    )
    for _, e in window.iterrows():
        d = str(e["date_approx"])
        pct = float(e["pct_change"])
        if d == "2021-07-03":
            add(
                "difficulty_adjustment",
                d,
                pct,
                "%",
                -35.0,
                -20.0,
                "headline",
                point(pts, "btc_difficulty", "Largest downward")["source"],
                "record drop at height 689,472; issue: between -35 % and -20 %",
            )
        elif d == "2021-05-01":
            add(
                "difficulty_adjustment",
                d,
                pct,
                "%",
                round(pct - 6, 2),
                round(pct + 6, 2),
                "info",
                src_ep,
                "caused by the mid-April 2021 Xinjiang power outage after a coal-mine accident "
                "(CoinDesk 2021-04-16), which is not in the policy timeline",
            )
        else:
            add(
                "difficulty_adjustment",
                d,
                pct,
                "%",
                round(pct - 6, 2),
                round(pct + 6, 2),
                "secondary",
                src_ep,
                f"height {int(e['epoch_start_height'])}; band +-6 points",
            )
    bt = point(pts, "btc_blocktime", "Mean block interval")
    derived_bt = float(
        ep.loc[
            ep["date_approx"].astype(str) == "2021-07-03", "prev_epoch_mean_block_time_min"
        ].iloc[0]
    )
    add(
        "mean_block_time_epoch_before_2021-07-03",
        "2021-07-03",
        float(bt["value"]),
        "min",
        12.0,
        16.5,
        "headline",
        bt["source"],
        f"quoted 13.9 min; from the retarget ratio 600 s x old/new = {derived_bt} min; "
        "issue: above 12 min",
    )
    kz = point(pts, "capacity", "Machines brought into Kazakhstan")
    add(
        "rigs_arrived_kazakhstan_by",
        "2022-01-06",
        87849,
        "rigs",
        40000,
        300000,
        "info",
        kz["source"],
        "FT estimate of machines imported; model counts relocated rigs arrived",
    )
    moved = point(pts, "migration", "14 largest miners")
    add(
        "rigs_relocated_out_of_china_by",
        "2021-11-22",
        2000000,
        "rigs",
        1000000,
        4000000,
        "info",
        moved["source"],
        "'14 largest miners moved >2M machines out of China' (FT via ihodl)",
    )
    stuck = point(pts, "migration", "Machines stuck in Sichuan")
    add(
        "rigs_still_in_china_by",
        "2022-02-15",
        2000000,
        "rigs",
        500000,
        3000000,
        "info",
        stuck["source"],
        "'up to 2,000,000 machines' stuck (SCMP); an upper estimate",
    )
    capacity = point(pts, "capacity", "Kazakhstan mining capacity")
    add(
        "share_kazakhstan",
        "2021-10-31",
        18.0,
        "%",
        10.0,
        25.0,
        "secondary",
        capacity["source"],
        "6 % (Jan 2021) -> 18 % (Oct 2021); capacity input comes from the same page",
    )
    luxor = point(pts, "migration", "Luxor estimate")
    add(
        "destination_share_north_america",
        "2021-07-31",
        25.0,
        "% of relocated",
        10.0,
        45.0,
        "info",
        luxor["source"],
        "Luxor: 25 % N. America, 25 % Central Asia, 15 % LatAm, 10 % EU, rest "
        "stranded (an early estimate)",
    )
    add(
        "destination_share_central_asia",
        "2021-07-31",
        25.0,
        "% of relocated",
        10.0,
        45.0,
        "info",
        luxor["source"],
        "Kazakhstan in the model",
    )
    # Not in sourced_point_figures.csv: pages found while sourcing the policy timeline.
    ccaf = (
        "https://ncfacanada.org/underground-bitcoin-mining-operations-in-china-lead-to-"
        "resurgence/ (CCAF mining-map update, 2022-05-17)"
    )
    ct = (
        "https://www.altcoin-central.com/china-returns-as-2nd-top-bitcoin-mining-hub-despite-"
        "the-crypto-ban/ (Cointelegraph, 2022-05-17)"
    )
    for metric, date, value, low, high, tier, source, note in (
        ("share_united_states", "2022-01-31", 37.84, 28.0, 48.0, "secondary", ccaf, "CBECI map"),
        (
            "share_china",
            "2022-01-31",
            21.11,
            10.0,
            30.0,
            "secondary",
            ccaf,
            "CBECI map: covert mining after the ban; the model's underground rigs",
        ),
        (
            "share_china",
            "2021-09-30",
            22.3,
            10.0,
            30.0,
            "info",
            ct,
            "CBECI map: 0 % in July-August, 22.3 % in September, >= 18 % to January 2022",
        ),
        (
            "share_china",
            "2021-08-31",
            0.0,
            0.0,
            10.0,
            "info",
            ct,
            "IP geolocation of partner pools; proxies probably hide Chinese miners",
        ),
        ("share_kazakhstan", "2021-08-31", 18.10, 12.0, 25.0, "secondary", ccaf, "CBECI map"),
        (
            "share_kazakhstan",
            "2022-01-31",
            13.22,
            8.0,
            20.0,
            "secondary",
            ccaf,
            "CBECI map; Kazakhstan's January 2022 unrest and power limits are not modelled",
        ),
        ("share_russia", "2021-08-31", 11.23, 6.0, 16.0, "info", ccaf, "CBECI map"),
        (
            "share_russia",
            "2022-01-31",
            4.66,
            2.0,
            10.0,
            "info",
            ccaf,
            "CBECI map; CCAF suggests political risk (central bank opposition)",
        ),
        ("share_canada", "2022-01-31", 6.48, 3.0, 10.0, "info", ccaf, "CBECI map"),
        (
            "hashrate_daily_min",
            "2021-06-27",
            57.47,
            40.0,
            90.0,
            "info",
            ccaf,
            "CCAF's daily estimate, not a 7-day mean",
        ),
    ):
        add(
            metric,
            date,
            value,
            "%" if metric.startswith("share") else "EH/s",
            low,
            high,
            tier,
            source,
            note,
        )
    add(
        "china_hashrate_fraction_online",
        "2021-06-30",
        0.10,
        "fraction of 2021-04-01",
        0.0,
        0.20,
        "secondary",
        "https://www.flanders-china.be/en/newsletter-archive/china-business-weekly-22-june-2021/"
        "90-of-chinas-bitcoin-mining-capacity-shut-down (Global Times, 2021-06-21); "
        "https://www.tweaktown.com/news/80115/ (2021-06-24)",
        "'more than 90 % of China's bitcoin mining capacity' estimated shut after Sichuan",
    )
    add(
        "yunnan_hashrate_fraction_online",
        "2021-06-30",
        0.0,
        "fraction of 2021-04-01",
        0.0,
        0.20,
        "info",
        "https://u.today/all-major-bitcoin-mining-farms-just-shut-down-in-chinas-yunnan-province",
        "Foundry's Kevin Zhang: all major farms in Yunnan shut (anonymous source)",
    )
    return pd.DataFrame(rows)


def observed_wuhan(data: Path) -> pd.DataFrame:
    bc = read_blockchain_com(data)
    h7 = trailing_7d(bc["hashrate_ehs"])
    pts = read_points(data)
    rows: list[dict[str, object]] = []

    add = _row_adder(rows)

    add(
        "hashrate_daily",
        "2018-07-28",
        50.3,
        "EH/s",
        45.0,
        55.0,
        "info",
        "https://bitcoinnews.com/bitcoin-mining-hash-rate-exceeds-50-exahash-s-for-first-time/",
        "first day above 50 EH/s (blockchain.com)",
    )
    add(
        "hashrate_peak",
        "2018-11-01",
        60.0,
        "EH/s",
        50.0,
        65.0,
        "secondary",
        "http://www.8855104.com/the-total-hash-value-decreased-bitcoin-difficulty-will-enter-"
        "big-adjustment.html",
        "'more than 60 EH/s' on 1 Nov 2018, then down to ~35",
    )
    add(
        "trough_date",
        "2018-12-15",
        "2018-12-15",
        "date",
        "2018-12-01",
        "2018-12-31",
        "secondary",
        "http://www.8855104.com/the-total-hash-value-decreased-bitcoin-difficulty-will-enter-"
        "big-adjustment.html",
        "mid-December 2018, before the ~19 December retarget",
    )
    add(
        "hashrate_trough",
        "2018-12-15",
        35.0,
        "EH/s",
        28.0,
        45.0,
        "secondary",
        "http://www.8855104.com/the-total-hash-value-decreased-bitcoin-difficulty-will-enter-"
        "big-adjustment.html",
        "after the November 2018 price fall (6,300 -> 3,300 USD)",
    )
    for d in ("2019-01-07", "2019-04-01", "2019-07-01", "2019-09-30", "2019-12-30"):
        v = round(float(h7.loc[d]), 1)
        add(
            "hashrate_7d_mean",
            d,
            v,
            "EH/s",
            round(v * 0.85, 1),
            round(v * 1.15, 1),
            "secondary",
            SRC_BLOCKCHAIN_COM,
            "7-day trailing mean; band +-15 %",
        )
    wg = point(pts, "wuhan_general", "Wuhan General Group press release")
    add(
        "facility_revenue_claimed",
        "2019-12-31",
        3.5e6,
        "USD/month",
        None,
        None,
        "info",
        wg["source"],
        "claimed initial monthly revenue 'over 3.5 M USD' once running; a claim "
        "to test, not a target",
    )
    add(
        "facility_capacity_claimed",
        "2019-12-31",
        30.0,
        "MW",
        None,
        None,
        "info",
        wg["source"],
        ">3 MW for up to 1,300 rigs in 2018; 30 MW and +12,000 rigs in 2019",
    )
    return pd.DataFrame(rows)


def observed_sparkpool(data: Path) -> pd.DataFrame:
    gn = read_glassnode(data)
    pts = read_points(data)
    rows: list[dict[str, object]] = []

    add = _row_adder(rows)

    spark = point(pts, "eth_pools", "Sparkpool share of ETH")
    ether = point(pts, "eth_pools", "Ethermine share")
    add(
        "pool_share_sparkpool",
        "2021-09-26",
        22.0,
        "%",
        18.0,
        26.0,
        "headline",
        spark["source"],
        "PoolWatch.io, published 2021-09-27: the share before the wind-down began (~27 Sep "
        "12:00 UTC); compare with the model's last day before it",
    )
    add(
        "pool_share_ethermine",
        "2021-09-26",
        24.0,
        "%",
        20.0,
        28.0,
        "headline",
        ether["source"],
        "PoolWatch.io, published 2021-09-27 (as the Sparkpool row)",
    )
    after = point(pts, "eth_pools", "Sparkpool hashrate after first 12h")
    add(
        "pool_share_sparkpool",
        "2021-09-27",
        17.7,
        "%",
        12.0,
        21.0,
        "secondary",
        after["source"],
        "117 TH/s 12 h into the wind-down (published 2021-09-28): compare with the end of the "
        "model's first wind-down day",
    )
    watch = point(pts, "eth_pools", "Sparkpool hashrate / miners")
    add(
        "pool_share_sparkpool_of_pool_attributed",
        "2021-09-27",
        19.0,
        "%",
        15.0,
        23.0,
        "info",
        watch["source"],
        "131.2 TH/s, 61,544 miners; Ethermine 159 TH/s, 306,619 miners (23 %)",
    )
    blocks = point(pts, "eth_pools", "Share of blocks last 7 days")
    add(
        "block_share_sparkpool_7d",
        "2021-09-28",
        20.0,
        "%",
        15.0,
        24.0,
        "info",
        blocks["source"],
        "Etherscan; Ethermine > 21 %",
    )
    add(
        "pool_share_sparkpool",
        "2021-10-01",
        0.0,
        "%",
        0.0,
        0.5,
        "headline",
        point(pts, "eth_pools", "Sparkpool complete shutdown")["source"],
        "closed 2021-09-30 20:00 UTC+8",
    )
    bitinfo = point(pts, "eth_pools", "ETH network hashrate (BitInfoCharts)")
    add(
        "network_hashrate_daily",
        "2021-09-27",
        719.0,
        "TH/s",
        650.0,
        760.0,
        "info",
        bitinfo["source"],
        "BitInfoCharts estimator; ATH 736 TH/s on 2021-09-25",
    )
    h = gn["eth_hashrate_ths"]
    weeks = (
        ("2021-09-17", "2021-09-23"),
        ("2021-09-24", "2021-09-30"),
        ("2021-10-01", "2021-10-07"),
        ("2021-10-08", "2021-10-14"),
    )
    means = [float(h.loc[a:b].mean()) for a, b in weeks]
    for (a, b), m in zip(weeks, means, strict=True):
        add(
            "network_hashrate_week_mean",
            f"{a}/{b}",
            round(m, 1),
            "TH/s",
            round(m * 0.95, 1),
            round(m * 1.05, 1),
            "secondary",
            SRC_GLASSNODE,
            "eth mean hashrate over the week",
        )
    add(
        "network_hashrate_change_week_before_to_week_after",
        "2021-10-07",
        round(100 * (means[2] / means[0] - 1), 1),
        "%",
        -3.0,
        6.0,
        "headline",
        SRC_GLASSNODE,
        "Sep 17-23 -> Oct 1-7: no visible network loss from the closure",
    )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- initial fleets

# Hash-rate fraction by hardware class in each kind of region (assumption, see SOURCES.md):
# the network grew from ~45 EH/s (early 2019, almost all S9-class) to ~110 EH/s (early 2020,
# S17-class added) to ~164 EH/s (April 2021, S19-class added; blockchain.com), and old S9s ran
# where power was cheapest (China's hydro, Iran, Malaysia), new S19s where they were sold in
# 2020-21 (North America).
MIX_2021: dict[str, dict[str, float]] = {
    "china": {"antminer-s9": 0.25, "whatsminer-m20s": 0.35, "antminer-s19": 0.40},
    "north_america": {"antminer-s9": 0.05, "whatsminer-m20s": 0.25, "antminer-s19": 0.70},
    "central_asia": {"antminer-s9": 0.25, "whatsminer-m20s": 0.40, "antminer-s19": 0.35},
    "iran": {"antminer-s9": 0.50, "whatsminer-m20s": 0.35, "antminer-s19": 0.15},
    "malaysia": {"antminer-s9": 0.40, "whatsminer-m20s": 0.35, "antminer-s19": 0.25},
    "world": {"antminer-s9": 0.20, "whatsminer-m20s": 0.35, "antminer-s19": 0.45},
}
# china-2021's Chinese provinces and North American regions, which both mappings below group
# alike (in china-2021's order of regions)
CHINA_AND_NORTH_AMERICA_2021 = {
    **dict.fromkeys(("xinjiang", "sichuan", "yunnan", "inner_mongolia", "qinghai",
                     "rest_of_china"), "china"),
    **dict.fromkeys(("texas", "rest_of_us", "canada"), "north_america"),
}
MIX_OF_REGION_2021 = {
    **CHINA_AND_NORTH_AMERICA_2021,
    "kazakhstan": "central_asia",
    "russia": "central_asia",
    "iran": "iran",
    "malaysia": "malaysia",
    "rest_of_world": "world",
}
TEXAS_SHARE_OF_US_2021 = 0.25  # assumption: Texas's sites before the 2021 build-out
# iran-2021: the same shares and mixes in coarser regions (China with Germany* and Ireland* as one
# region, the United States and Canada as north_america, Malaysia in rest_of_world), sized on
# the 7-day mean of its first day, 2021-05-13 (the retarget at height 683,424).
COARSE_REGION_IRAN_2021 = {
    **CHINA_AND_NORTH_AMERICA_2021,
    "kazakhstan": "kazakhstan",
    "russia": "russia",
    "iran": "iran",
    "malaysia": "rest_of_world",
    "rest_of_world": "rest_of_world",
}
START_IRAN_2021 = "2021-05-13"
VACANCY = 0.05  # assumption: free hosting capacity at start, share of the power in use

# Ethereum, September 2021: mainland China's share of the network (assumption: Sparkpool's 22 %
# was mostly mainland miners, plus mainland miners on F2Pool and others).
ETH_CHINA_SHARE = 0.30
# Bitcoin, September 2018: no CBECI map before Sept 2019; its first month is used (assumption).
# Regions of the 2018 case: price tiers (hydro / coal / rest of China; cheap power abroad) so
# that S9s do not all switch off at the same price.
COUNTRY_REGION_2018 = {
    "Mainland China": "china",
    "Germany *": "china",
    "Ireland *": "china",
    "United States": "united_states",
    "Russian Federation": "low_cost_abroad",
    "Kazakhstan": "low_cost_abroad",
    "Iran, Islamic Rep.": "low_cost_abroad",
    "Canada": "low_cost_abroad",
    "Malaysia": "rest_of_world",
    "Other": "rest_of_world",
}
PROVINCE_REGION_2018 = {
    "Sichuan": "sichuan_yunnan",
    "Yunnan": "sichuan_yunnan",
    "Xinjiang": "xinjiang_inner_mongolia",
    "Nei Mongol": "xinjiang_inner_mongolia",
}  # every other province: rest_of_china
MIX_2018 = {"antminer-s9": 0.80, "antminer-t9plus": 0.20}
HASHRATE_2018_EHS = 50.0  # bitcoinnews.com 2018-07-28 (50.3 EH/s), cragnews 2018-08 (45-62)


def _display(hashrate_hs: float) -> str:
    return f"{hashrate_hs / EH:.2f} EH/s" if hashrate_hs >= 1e17 else f"{hashrate_hs / TH:.1f} TH/s"


def _fleet_rows(
    scenario: str,
    region: str,
    share: float,
    hashrate_hs: float,
    mix: dict[str, float],
    hw: pd.DataFrame,
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name, frac in mix.items():
        spec = hw.loc[hw["name"] == name].iloc[0]
        rigs = int(round(hashrate_hs * frac / float(spec["hashrate_hs"]), -2))
        rows.append(
            {
                "scenario": scenario,
                "region": region,
                "share_pct": round(100 * share, 3),
                "hardware": name,
                "hash_fraction": frac,
                "hashrate_hs": float(f"{hashrate_hs * frac:.6g}"),
                "hashrate_display": _display(hashrate_hs * frac),
                "rigs": rigs,
                "power_mw": round(rigs * float(spec["power_w"]) / 1e6, 1),
            }
        )
    return rows


def _coarse_fleet_rows(
    scenario: str,
    region_share: dict[str, float],
    total: float,
    hashrate_hs: float,
    hw: pd.DataFrame,
) -> list[dict[str, object]]:
    """china-2021's regions merged into COARSE_REGION_IRAN_2021's: each coarse region's mix is
    the share-weighted mean of its parts' mixes (rest_of_world: the world's and Malaysia's)."""
    rows: list[dict[str, object]] = []
    for coarse in dict.fromkeys(COARSE_REGION_IRAN_2021.values()):
        parts = [r for r, c in COARSE_REGION_IRAN_2021.items() if c == coarse]
        share = sum(region_share[r] for r in parts) / total
        mix: dict[str, float] = {}
        for r in parts:
            for name, frac in MIX_2021[MIX_OF_REGION_2021[r]].items():
                mix[name] = mix.get(name, 0.0) + frac * region_share[r] / total / share
        mix = {name: round(frac, 4) for name, frac in mix.items()}
        rows += _fleet_rows(scenario, coarse, share, hashrate_hs * share, mix, hw)
    return rows


def shares_2018(data: Path) -> dict[str, float]:
    """Regional shares for September 2018: CBECI's first map month, September 2019."""
    countries = pd.read_csv(need(data, CBECI_COUNTRIES))
    countries = countries[countries["date"] == "2019-09-01"]
    pct = countries["monthly_hashrate_%"].str.rstrip("%").astype(float)
    country = pct.groupby(countries["country"].map(COUNTRY_REGION_2018)).sum() / pct.sum()
    provinces = pd.read_csv(need(data, CBECI_PROVINCES))
    provinces = provinces[provinces["Date"] == "2019-09-01"]
    region = provinces["Province"].map(PROVINCE_REGION_2018).fillna("rest_of_china")
    prov = provinces.groupby(region)["Share of Chinese hashrate"].sum()
    prov = prov / prov.sum()
    shares = {str(r): float(country["china"] * v) for r, v in prov.items()}
    shares.update({str(r): float(v) for r, v in country.items() if r != "china"})
    return shares


def initial_fleet(data: Path) -> pd.DataFrame:
    hw = hardware(data)
    bc = read_blockchain_com(data)
    h0 = float(trailing_7d(bc["hashrate_ehs"]).loc["2021-04-01"]) * EH
    shares = cbeci_shares(data)
    country = shares[shares["level"] == "country"].groupby("model_region")["share_mean_pct"].sum()
    province = (
        shares[shares["level"] == "province_of_china"]
        .groupby("model_region")["share_mean_pct"]
        .sum()
    )
    region_share: dict[str, float] = {}
    for reg, pct in country.items():
        if reg == "china":
            for prov, ppct in province.items():
                region_share[str(prov)] = pct / 100 * ppct / province.sum()
        elif reg == "united_states":
            region_share["texas"] = pct / 100 * TEXAS_SHARE_OF_US_2021
            region_share["rest_of_us"] = pct / 100 * (1 - TEXAS_SHARE_OF_US_2021)
        else:
            region_share[str(reg)] = pct / 100
    total = sum(region_share.values())
    rows: list[dict[str, object]] = []
    for reg in MIX_OF_REGION_2021:
        share = region_share[reg] / total
        rows += _fleet_rows(
            "china-2021", reg, share, h0 * share, MIX_2021[MIX_OF_REGION_2021[reg]], hw
        )
    rows += _coarse_fleet_rows(
        "iran-2021", region_share, total,
        float(trailing_7d(bc["hashrate_ehs"]).loc[START_IRAN_2021]) * EH, hw,
    )
    gn = read_glassnode(data)
    e0 = float(trailing_7d(gn["eth_hashrate_ths"]).loc["2021-09-01"]) * TH
    for reg, share in (("china", ETH_CHINA_SHARE), ("rest_of_world", 1 - ETH_CHINA_SHARE)):
        rows += _fleet_rows("sparkpool-2021", reg, share, e0 * share, {"gpu-rig-6x3070": 1.0}, hw)
    for reg, share in shares_2018(data).items():
        rows += _fleet_rows(
            "wuhan-general-2018", reg, share, HASHRATE_2018_EHS * EH * share, MIX_2018, hw
        )
    out = pd.DataFrame(rows)
    power = out.groupby(["scenario", "region"])["power_mw"].transform("sum")
    out["region_power_mw"] = power.round(1)
    out["capacity_at_start_mw"] = (power * (1 + VACANCY) / 10).map(math.ceil) * 10
    return out


# ---------------------------------------------------------------------------- writing

TABLES: dict[str, tuple[Callable[[Path], pd.DataFrame], str]] = {
    "btc_2021_weekly.csv": (
        lambda d: btc_weekly(d, "2021-01-04", "2022-06-27"),
        f"source: {SRC_BLOCKCHAIN_COM}; glassnode column and blocks/fees: {SRC_GLASSNODE}. "
        "7-day trailing means (the 7 days ending on each Monday); TH/s -> EH/s",
    ),
    "btc_2019_weekly.csv": (
        lambda d: btc_weekly(d, "2019-01-07", "2019-12-30"),
        f"source: {SRC_BLOCKCHAIN_COM}; blocks/fees: {SRC_GLASSNODE}. "
        "Same derivation as btc_2021_weekly.csv, for the 2018-19 Wuhan General case",
    ),
    "btc_difficulty_epochs_2021.csv": (
        difficulty_epochs,
        "source: blockchain.com difficulty via btc_difficulty_epochs_2019-2022_derived.csv "
        "(epochs anchored on height 689,472 = 2021-07-03); dates +-1 day; block time from the "
        "retarget ratio",
    ),
    "btc_price_2021.csv": (
        btc_price_daily,
        f"source: {SRC_BLOCKCHAIN_COM} (market-price, daily close USD); column subset",
    ),
    "btc_fees_2021_monthly.csv": (
        btc_fees_monthly,
        f"source: {SRC_GLASSNODE}; blocks per day = new BTC issued / 6.25 (block subsidy)",
    ),
    "cbeci_shares_2021.csv": (
        cbeci_shares,
        f"source: {SRC_CBECI}, countries and China's provinces, April and May 2021 "
        "(via the public repos Mccalabrese/Bitcoin-Hashrate-simulations-MonteCarlo and "
        "sorianom23/Bitcoin-Mining)",
    ),
    "hardware.csv": (
        hardware,
        "source: per row (CBECI hardware list 2021-02, F2Pool miner list 2020-03, "
        "sourced_point_figures); price_usd_2021 is an assumption (the S19 Pro's 12,000 is WSJ's "
        "'new machine ~12,000 USD', which names no model); caveats for the S19j Pro and "
        "M30S++ rows in SOURCES.md",
    ),
    "eth_2021_daily.csv": (
        eth_daily,
        f"source: {SRC_GLASSNODE}; fees are totals paid, base fee burned since London "
        "(2021-08-05) included",
    ),
    "observed_china_2021.csv": (
        observed_china,
        "source: per row (column source); observed reference figures for the china-2021 "
        "backtest; tier: headline (must hold), secondary (should hold), info (context, not "
        "expected)",
    ),
    "observed_sparkpool_2021.csv": (
        observed_sparkpool,
        "source: per row (column source); observed reference figures for the sparkpool-2021 "
        "backtest",
    ),
    "observed_wuhan_2018.csv": (
        observed_wuhan,
        "source: per row (column source); observed reference figures and claims for the "
        "wuhan-general-2018 case",
    ),
    "initial_fleet.csv": (
        initial_fleet,
        f"source: {SRC_CBECI} (cbeci_shares_2021.csv; September 2019 for 2018), 7-day means "
        f"at the start ({SRC_BLOCKCHAIN_COM}; ETH: {SRC_GLASSNODE}; 2018: 50 EH/s from "
        "bitcoinnews.com and cragnews.com), hardware.csv. How the scenarios' initial fleets "
        "were sized: share x 7-day mean hashrate at the start x hardware-class fraction / rig "
        "hashrate (assumptions in scripts/derive_reference.py)",
    ),
}


def render(frame: pd.DataFrame, header: str) -> str:
    buf = io.StringIO()
    buf.write(f"# {header}\n")
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def price_yaml(data: Path, coin: str, first: str, last: str, step_days: int) -> str:
    """A `price.points` block for a scenario: daily closes (or every `step_days`)."""
    if coin == "btc":
        closes = read_blockchain_com(data)["btc_usd"]
    else:
        closes = read_glassnode(data)["eth_close_usd"]
    sel = closes.loc[first:last].iloc[::step_days]
    return "\n".join(f"      - {{date: {d.date()}, usd: {v:.2f}}}" for d, v in sel.items())


def fees_yaml(first: str, last: str) -> str:
    """A coin's `fees_per_block_coins` (month `first`) and `fees_schedule` (the months after
    it, up to `last`) from the committed ref/btc_fees_2021_monthly.csv."""
    table = _ref("btc_fees_2021_monthly.csv").set_index("month")["fees_per_block_btc"]
    sel = table.loc[first:last]
    if sel.empty or sel.index[0] != first:
        raise SystemExit(f"derive_reference: no fees for month {first} in "
                         f"btc_fees_2021_monthly.csv ({table.index[0]} … {table.index[-1]})")
    src = "ref/btc_fees_2021_monthly.csv, Glassnode fees / blocks"
    lines = [f"    fees_per_block_coins: {sel.iloc[0]}  # {first}: {src}",
             "    fees_schedule:  # monthly means from the 1st of each month (same table)"]
    lines += [f"      - {{date: {month}-01, coins: {value}}}" for month, value in
              sel.iloc[1:].items()]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- observed: blocks

OBSERVED_EVENTS = {
    "china-2021": [
        (
            "2021-05-21",
            "State Council calls for a crackdown on bitcoin mining and trading",
            "pts: policy",
        ),
        ("2021-06-09", "Xinjiang (Changji) and Qinghai order miners to stop", "pts: policy"),
        ("2021-06-20", "Sichuan cuts power to mining farms", "pts: policy; Global Times"),
        ("2021-07-03", "Record difficulty drop, -27.94 %", "pts: btc_difficulty (CoinDesk)"),
        (
            "2021-09-24",
            "9.24 notices: all crypto transactions and mining illegal",
            "pts: policy; seeds/002",
        ),
        ("2021-12-31", "Huobi closes mainland accounts", "seeds/002"),
    ],
    "sparkpool-2021": [
        ("2021-09-24", "9.24 notices; Sparkpool stops new mainland users", "pts: eth_pools"),
        ("2021-09-27", "F2Pool purges mainland miners", "u.today (8BTCnews) 2021-09-27"),
        ("2021-09-30", "Sparkpool shuts down", "pts: eth_pools"),
    ],
    "wuhan-general-2018": [
        ("2018-09-11", "Wuhan General announces its 3 -> 30 MW US mine", "pts: wuhan_general"),
        ("2018-10-31", "First ASICminer rigs due", "seeds/001"),
        ("2018-12-15", "BTC at its 2018 low, 3,122 USD", "theicoshowcase.com"),
    ],
}


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(OUT / name, comment="#")


def _hs(value: float, unit: str) -> float:
    return value * (EH if unit == "EH/s" else TH)


def observed_yaml(scenario: str) -> str:
    """An `observed:` block for a bundled scenario, from the committed observed tables."""
    lines: list[str] = []
    if scenario == "china-2021":
        coin, table, series = "bitcoin", "observed_china_2021.csv", "btc_2021_weekly.csv"
        first, last = "2021-04-01", "2022-03-31"
    elif scenario == "sparkpool-2021":
        coin, table, series = "ethereum", "observed_sparkpool_2021.csv", "eth_2021_daily.csv"
        first, last = "2021-09-01", "2021-10-31"
    elif scenario == "wuhan-general-2018":
        coin, table, series = "bitcoin", "observed_wuhan_2018.csv", "btc_2019_weekly.csv"
        first, last = "2018-09-11", "2019-12-31"
    else:
        raise SystemExit(f"derive_reference: no observed figures for {scenario!r}")
    obs = _ref(table)
    lines += [
        "observed:",
        f"  coin: {coin}",
        f"  source: sim/reference/{table} (sources per check; see SOURCES.md)",
        f"  # 7-day means: sim/reference/{series}",
        "  hashrate:",
    ]
    ser = _ref(series)
    col = "eth_hashrate_ths_7d_mean" if coin == "ethereum" else "hashrate_ehs_7d_mean"
    unit = "TH/s" if coin == "ethereum" else "EH/s"
    ser = ser[(ser["date"] >= first) & (ser["date"] <= last) & ser[col].notna()]
    for _, r in ser.iterrows():
        lines.append(f"    - {{date: {r['date']}, hashrate_hs: {_hs(r[col], unit):.4g}}}")
    lines.append("  checks:")

    def check(fields: dict[str, object], row: pd.Series) -> None:
        body = ", ".join(f"{k}: {v}" for k, v in fields.items() if v is not None)
        src = str(row["source"]).split(" ;")[0].split("; ")[0].replace('"', "'")
        lines.append(f'    - {{{body}, source: "{src}"}}')

    def num(x: object, unit: str) -> str:
        v = float(x)  # type: ignore[arg-type]
        return f"{_hs(v, unit):.4g}" if unit in ("EH/s", "TH/s") else f"{v:g}"

    for _, r in obs.iterrows():
        m, d, u, tier = r["metric"], r["date"], r["unit"], r["tier"]
        if tier == "info" and m not in ("hashrate_peak", "hashrate_trough"):
            continue
        lo, hi = r["low"], r["high"]
        if m in ("hashrate_7d_mean", "hashrate_7d_mean_peak", "hashrate_peak"):
            check(
                {
                    "id": f"hashrate-{d}",
                    "metric": "hashrate",
                    "date": d,
                    "value": num(r["value"], u),
                    "low": num(lo, u),
                    "high": num(hi, u),
                },
                r,
            )
        elif m in ("hashrate_7d_mean_trough", "hashrate_trough"):
            window = (
                ("2021-06-01", "2021-08-31")
                if coin == "bitcoin" and d.startswith("2021")
                else ("2018-11-15", "2019-01-31")
            )
            dates = obs[obs["metric"] == "trough_date"]
            extra = (
                {"date": d, "date_low": dates["low"].iloc[0], "date_high": dates["high"].iloc[0]}
                if len(dates)
                else {"date": d}
            )
            check(
                {
                    "id": "trough",
                    "metric": "trough",
                    "window_start": window[0],
                    "window_end": window[1],
                    "value": num(r["value"], u),
                    "low": num(lo, u),
                    "high": num(hi, u),
                    **extra,
                },
                r,
            )
        elif m == "difficulty_adjustment":
            check(
                {
                    "id": f"retarget-{d}",
                    "metric": "difficulty_adjustment",
                    "date": d,
                    "value": num(r["value"], u),
                    "low": num(lo, u),
                    "high": num(hi, u),
                },
                r,
            )
        elif m.startswith("mean_block_time_epoch_before"):
            check(
                {
                    "id": "block-time-before-retarget",
                    "metric": "epoch_block_time",
                    "date": d,
                    "value": f"{60 * float(r['value']):g}",
                    "low": f"{60 * float(lo):g}",
                    "high": f"{60 * float(hi):g}",
                },
                r,
            )
        elif m == "recovery_to_may_peak_date":
            peak = obs[obs["metric"] == "hashrate_7d_mean_peak"]["date"].iloc[0]
            trough = obs[obs["metric"] == "hashrate_7d_mean_trough"]["date"].iloc[0]
            check(
                {
                    "id": "recovery",
                    "metric": "recovery",
                    "reference": peak,
                    "after": trough,
                    "date": d,
                    "date_low": lo,
                    "date_high": hi,
                },
                r,
            )
        elif m == "drop_peak_to_trough":
            peak = obs[obs["metric"] == "hashrate_7d_mean_peak"]["date"].iloc[0]
            check(
                {
                    "id": "drop",
                    "metric": "hashrate_change",
                    "start": peak,
                    "end": d,
                    "value": num(r["value"], u),
                    "low": num(lo, u),
                    "high": num(hi, u),
                },
                r,
            )
        elif m.startswith("share_") and u == "%":
            region = m.removeprefix("share_")
            check(
                {
                    "id": f"share-{region}-{d}",
                    "metric": "region_share",
                    "name": region,
                    "date": d,
                    "value": f"{float(r['value']) / 100:g}",
                    "low": f"{float(lo) / 100:g}",
                    "high": f"{float(hi) / 100:g}",
                },
                r,
            )
        elif m.startswith("pool_share_") and "attributed" not in m:
            pool = m.removeprefix("pool_share_")
            check(
                {
                    "id": f"share-{pool}-{d}",
                    "metric": "pool_share",
                    "name": pool,
                    "date": d,
                    "value": f"{float(r['value']) / 100:g}",
                    "low": f"{float(lo) / 100:g}",
                    "high": f"{float(hi) / 100:g}",
                },
                r,
            )
        elif m == "network_hashrate_change_week_before_to_week_after":
            check(
                {
                    "id": "closure-change",
                    "metric": "hashrate_change",
                    "start": "2021-09-23",
                    "end": d,
                    "value": num(r["value"], u),
                    "low": num(lo, u),
                    "high": num(hi, u),
                },
                r,
            )
    lines.append("  events:")
    for d, title, src in OBSERVED_EVENTS[scenario]:
        lines.append(f'    - {{date: {d}, title: "{title}", source: "{src}"}}')
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help=f"raw reference data folder (default: {DEFAULT_DATA})",
    )
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if a committed table differs"
    )
    parser.add_argument(
        "--price-yaml",
        nargs=2,
        metavar=("FIRST", "LAST"),
        help="print a BTC price points block for a scenario and exit",
    )
    parser.add_argument(
        "--coin",
        choices=("btc", "eth"),
        default="btc",
        help="price series for --price-yaml: btc (blockchain.com) or eth (Glassnode)",
    )
    parser.add_argument("--step-days", type=int, default=1)
    parser.add_argument(
        "--observed-yaml",
        metavar="SCENARIO",
        help="print the `observed:` block of a bundled scenario (from the "
        "committed tables) and exit",
    )
    parser.add_argument(
        "--fees-yaml",
        nargs=2,
        metavar=("FIRST_MONTH", "LAST_MONTH"),
        help="print a BTC coin's monthly fee lines (YYYY-MM YYYY-MM, from the committed "
        "table) and exit",
    )
    args = parser.parse_args(argv)
    if args.fees_yaml:
        print(fees_yaml(*args.fees_yaml))
        return 0
    if args.observed_yaml:
        print(observed_yaml(args.observed_yaml))
        return 0
    if not args.data.is_dir():
        raise MissingData(
            f"derive_reference: the reference data folder {args.data} does not exist.\n"
            f"It holds the raw CBECI/blockchain.com/Glassnode/F2Pool files (never committed); "
            f"expected at ../shared/data next to the project, or pass --data DIR."
        )
    if args.price_yaml:
        print(price_yaml(args.data, args.coin, *args.price_yaml, args.step_days))
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for name, (build, header) in TABLES.items():
        text = render(build(args.data), header)
        path = OUT / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)} ({text.count(chr(10)) - 2} rows)")
    if stale:
        print("stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
