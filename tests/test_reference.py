"""The vectorised daily step against a plain per-rig loop (tests/reference_loop.py).

Worlds come from :func:`random_world`: a seeded random scenario (1–2 coins, one of them maybe
Ethereum-like, 2–4 leaf regions under 0–2 levels of parents, 1–3 rig models and pools per coin,
0–3 facilities) started with :func:`sim.engine.start_world`, whose state is then scrambled: a
random day, prices, difficulty and height, haircuts, discounts, cut-offs, capacities, pool flags
and shares, and a fleet of random rows (every status, facilities, destinations, queue days).

(a) economics and on/off switching, (b) aggregation by the recorder, (c) first-come-first-served
admission and (d) the pools a miner may move to must equal the loop exactly (up to float
rounding). (e) The random kernels `thin` (both paths) and `allocate` must equal in distribution
the per-rig Bernoulli / categorical draws: chi-square and binomial tests with fixed seeds.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

import numpy as np
import pytest
import reference_loop as ref
from scipy import stats

from sim import kernels, rowsearch
from sim.agents import facilities
from sim.agents import pools as pool_agents
from sim.agents.facilities import admit_queued
from sim.agents.miners import economics, mining_hashrate, row_cost_usd_per_day, switch
from sim.cohorts import Cohorts, cohorts_among
from sim.engine import start_world
from sim.recorder import FACILITY_FIELDS, POOL_FIELDS, REGION_FIELDS, Recorder
from sim.scenario import Scenario
from sim.state import (
    BANNED_OFF,
    IN_TRANSIT,
    NEVER,
    NUM_STATUSES,
    OFFLINE,
    ONLINE,
    QUEUED,
    RETIRED,
    STATUS_NAMES,
    UNDERGROUND,
    Fleet,
)
from sim.world import World

SEEDS = range(30)
RTOL = 1e-9

# ------------------------------------------------------------------------------ random worlds


def random_doc(rng: np.random.Generator, resolution: str = "cohort") -> dict[str, Any]:
    """A small random scenario that validates (the fleet entries only seed the world)."""
    start = dt.date(2021, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
    num_leaves = int(rng.integers(2, 5))
    leaves = [f"r{i}" for i in range(num_leaves)]
    regions: list[dict[str, Any]] = []
    for name in leaves:
        reg: dict[str, Any] = {"name": name,
                               "electricity_usd_per_kwh": float(rng.uniform(0.01, 0.1)),
                               "carbon_g_per_kwh": float(rng.uniform(0, 1000))}
        if rng.random() < 0.5:
            reg["electricity_monthly_usd_per_kwh"] = rng.uniform(0.01, 0.1, 12).tolist()
        regions.append(reg)
    levels = int(rng.integers(0, 3))  # parents over parents
    below = list(leaves)
    for level in range(levels):
        parent = f"top{level}"
        for name in rng.choice(below, size=int(rng.integers(1, len(below) + 1)), replace=False):
            next(r for r in regions if r["name"] == name)["parent"] = parent
        regions.append({"name": parent, "electricity_usd_per_kwh": 0.05,
                        "carbon_g_per_kwh": 500.0})
        below = [r["name"] for r in regions if "parent" not in r]
    rng.shuffle(regions)  # file order is free
    coins = [{"name": "BTC", "rule": "bitcoin", "subsidy_coins": 6.25,
              "fees_per_block_coins": float(rng.uniform(0, 1)),
              "halving_interval_blocks": int(rng.integers(50, 1000)),
              "price": {"kind": "constant", "usd": 1.0}}]
    if rng.random() < 0.5:
        coins.append({"name": "ETH", "rule": "tracking", "block_time_s": 13.0,
                      "subsidy_coins": 2.0, "fees_per_block_coins": float(rng.uniform(0, 1)),
                      "price": {"kind": "constant", "usd": 1.0}})
    hardware, pools = [], []
    for coin in coins:
        for k in range(int(rng.integers(1, 4))):
            hardware.append({"name": f"{coin['name']}-hw{k}", "coin": coin["name"],
                             "hashrate_hs": float(rng.uniform(1e12, 1.5e14)),
                             "power_w": float(rng.uniform(200, 3500))})
        for k in range(int(rng.integers(1, 4))):
            pool: dict[str, Any] = {"name": f"{coin['name']}-p{k}", "coin": coin["name"],
                                    "fee": float(rng.uniform(0, 0.05))}
            if rng.random() < 0.6:
                pool["home_region"] = str(rng.choice([r["name"] for r in regions]))
            pools.append(pool)
    facilities = []
    for f in range(int(rng.integers(0, 4))):
        fac: dict[str, Any] = {"name": f"f{f}", "region": str(rng.choice(leaves)),
                               "mode": str(rng.choice(["hosting", "self_mining"])),
                               "capacity": [{"date": start, "mw": 1.0}],
                               "hosting_fee_usd_per_kwh": float(rng.uniform(0, 0.02)),
                               "fixed_cost_usd_per_month": float(rng.uniform(0, 1e5))}
        if rng.random() < 0.5:
            fac["power_usd_per_kwh"] = float(rng.uniform(0.01, 0.1))
        facilities.append(fac)
    if rng.random() < 0.5:  # fees that change on dated steps (some before the start)
        offsets = np.sort(rng.choice(np.arange(-30, 400), size=int(rng.integers(1, 4)),
                                     replace=False))
        coins[0]["fees_schedule"] = [{"date": start + dt.timedelta(days=int(o)),
                                      "coins": float(rng.uniform(0, 1))} for o in offsets]
    return {
        "name": "reference", "start": start, "end": start + dt.timedelta(days=400),
        "resolution": resolution, "coins": coins, "regions": regions, "hardware": hardware,
        "pools": pools, "facilities": facilities,
        "fleet": [{"region": leaves[0], "hardware": h["name"], "rigs": 1,
                   "pool": next(p["name"] for p in pools if p["coin"] == h["coin"])}
                  for h in hardware],
        "behaviour": {"switch_off_margin": float(rng.uniform(-0.3, 0.1)),
                      "switch_on_margin": float(rng.uniform(0.1, 0.5)),
                      "pool_choice": {"fee": float(rng.uniform(0, 100)),
                                      "size": float(rng.uniform(0, 2)),
                                      "affinity": float(rng.uniform(0, 3))}},
    }


def random_fleet(world: World, rng: np.random.Generator, rows: int, max_count: int) -> None:
    """Replace the fleet by `rows` random rows of 0 … max_count rigs (in rig resolution,
    single rigs): every status, facility rows in their facility's region (rigs in transit,
    which are at their destination, have none), queue days up to today."""
    leaves = np.flatnonzero(world.geo.is_leaf)
    num_f = len(world.fac_region)
    fleet = Fleet.empty()
    for _ in range(rows):
        k = int(rng.integers(0, len(world.hw_coin)))
        pools = np.flatnonzero(world.pool_coin == world.hw_coin[k])
        status = int(rng.integers(0, NUM_STATUSES))
        region = int(rng.choice(leaves))
        facility = -1
        if status != IN_TRANSIT and num_f and rng.random() < 0.5:
            facility = int(rng.integers(0, num_f))
            region = int(world.fac_region[facility])
        count = 1 if max_count == 1 else int(rng.integers(0, max_count + 1))
        fleet.append(count=np.array([count]), status=status, region=region,
                     pool=int(rng.choice(pools)), hw=k, facility=facility,
                     t_since=int(rng.integers(0, world.day + 1)),
                     t_due=NEVER if rng.random() < 0.7 else int(rng.integers(0, 400)))
    world.fleet = fleet


def random_world(seed: int, rows: int = 40, max_count: int = 30,
                 resolution: str = "cohort") -> World:
    """A started world with scrambled state (see the module docstring)."""
    rng = np.random.default_rng(seed)
    scenario = Scenario.model_validate(random_doc(rng, resolution))
    _, world = start_world(scenario, seed, 0)
    num_r, num_p = world.num_regions, len(world.pool_fee)
    world.day = int(rng.integers(1, 400))
    world.haircut = np.where(rng.random(num_r) < 0.3, rng.uniform(0, 1, num_r), 0.0)
    world.discount_usd_per_kwh = np.where(rng.random(num_r) < 0.3,
                                          rng.uniform(0, 0.05, num_r), 0.0)
    world.cutoff = rng.random(num_r) < 0.2
    world.pool_open = rng.random(num_p) < 0.8
    world.pool_accepts = rng.random((num_p, num_r)) < 0.7
    world.pool_serves = rng.random((num_p, num_r)) < 0.7
    world.pool_share = rng.choice([0.0, 1e-8, 0.01, 0.3, 0.6], num_p)
    random_fleet(world, rng, rows, max_count)
    for c, chain in enumerate(world.chains):
        chain.height = int(rng.integers(0, 5000))
        chain.difficulty = float(rng.uniform(1e10, 1e14))
        # a price at which a typical rig earns 0.3–3 times its power bill
        k = int(np.flatnonzero(world.hw_coin == c)[0])
        bill = world.hw_power_w[k] * 24 / 1000 * 0.05
        target = bill / world.hw_hashrate_hs[k] * float(np.exp(rng.uniform(np.log(0.3),
                                                                       np.log(3))))
        unit = ref.hashprice_usd_per_hs_day(world, c, max(ref.mining_hashrate(world)[c], 1.0)) \
            / float(world.price_usd[c])
        world.price_usd[c] = target / unit if unit > 0 else 1.0
    # capacities around what is queued, so that some of the queue fits and some waits
    queued_mw = np.zeros(num_r)
    fleet = world.fleet
    q = fleet.status == QUEUED
    np.add.at(queued_mw, fleet.region[q], fleet.count[q] * world.hw_power_w[fleet.hw[q]] / 1e6)
    racked = (fleet.status == ONLINE) | (fleet.status == OFFLINE)
    used = np.zeros(num_r)
    np.add.at(used, fleet.region[racked & (fleet.facility < 0)],
              (fleet.count * world.hw_power_w[fleet.hw] / 1e6)[racked & (fleet.facility < 0)])
    world.capacity_mw = np.where(rng.random(num_r) < 0.2, np.inf,
                                 used + queued_mw * rng.uniform(0, 1.2, num_r))
    world.fac_capacity_mw = rng.uniform(0, 0.3, len(world.fac_region))
    return world


def by_row(world: World, values: list[Any]) -> list[Any]:
    """Per-rig values (in rigs_of order) as one value per row; all rigs of a row agree."""
    out: list[Any] = [None] * world.fleet.size
    seen = [False] * world.fleet.size
    for rig, value in zip(ref.rigs_of(world), values, strict=True):
        if seen[rig.row]:
            assert out[rig.row] == value, "rigs of one row must be alike"
        out[rig.row], seen[rig.row] = value, True
    return out


# ------------------------------------------------------------------------------ (a) economics


@pytest.mark.parametrize("seed", SEEDS)
def test_economics_equals_reference(seed: int) -> None:
    world = random_world(seed)
    hashrate = mining_hashrate(world)
    np.testing.assert_allclose(hashrate, ref.mining_hashrate(world), rtol=RTOL)
    econ = economics(world, hashrate)
    hp = [ref.hashprice_usd_per_hs_day(world, c, float(hashrate[c]))
          for c in range(len(world.chains))]
    np.testing.assert_allclose(econ.hashprice_usd_per_hs_day, hp, rtol=RTOL)
    sc = world.scenario
    for k, hw in enumerate(sc.hardware):
        revenue = hw.hashrate_hs * hp[ref.hw_coin(world, k)]
        assert econ.revenue_k[k] == pytest.approx(revenue, rel=RTOL)
        for r in range(len(sc.regions)):
            cost = ref.power_cost_usd_per_day(world, k, r)
            assert econ.cost_rk[r, k] == pytest.approx(cost, rel=RTOL, abs=1e-12)
            margin = revenue * (1 - world.haircut[r]) - cost
            assert econ.margin_rk[r, k] == pytest.approx(margin, rel=RTOL, abs=1e-9)
    costs = [ref.rig_cost_usd_per_day(world, rig) for rig in ref.rigs_of(world)]
    engine = row_cost_usd_per_day(world, econ)
    for i, cost in enumerate(by_row(world, costs)):
        if cost is not None:
            assert engine[i] == pytest.approx(cost, rel=RTOL, abs=1e-12)


@pytest.mark.parametrize("resolution", ["cohort", "rig"])
@pytest.mark.parametrize("seed", SEEDS)
def test_switching_with_hysteresis_equals_reference(seed: int, resolution: str) -> None:
    world = (random_world(seed) if resolution == "cohort"
             else random_world(seed, rows=150, max_count=1, resolution="rig"))
    econ = economics(world, mining_hashrate(world))
    hp = list(econ.hashprice_usd_per_hs_day)
    rigs = ref.rigs_of(world)
    expected = by_row(world, [ref.switched_status(world, rig, hp) for rig in rigs])
    before = world.fleet.status.copy()
    since = world.fleet.t_since.copy()
    switch(world, econ)
    fleet = world.fleet
    for i, status in enumerate(expected):
        if status is None:  # an empty row
            continue
        assert fleet.status[i] == status, (i, STATUS_NAMES[before[i]], STATUS_NAMES[status])
        assert fleet.t_since[i] == (world.day if status != before[i] else since[i])
    assert fleet.size == len(expected)  # switching moves whole rows


def test_switching_covers_both_directions() -> None:
    """The random worlds do exercise switching off, on, and the hysteresis band."""
    seen: Counter[str] = Counter()
    for seed in SEEDS:
        world = random_world(seed)
        econ = economics(world, mining_hashrate(world))
        hp = list(econ.hashprice_usd_per_hs_day)
        b = world.scenario.behaviour
        for rig in ref.rigs_of(world):
            after = ref.switched_status(world, rig, hp)
            if rig.status == ONLINE and after == OFFLINE:
                seen["off"] += 1
            elif rig.status == OFFLINE and after == ONLINE:
                seen["on"] += 1
            elif rig.status in (ONLINE, OFFLINE):
                cost = ref.rig_cost_usd_per_day(world, rig)
                rel = (ref.rig_revenue_usd_per_day(world, rig, hp) - cost) / max(cost, 1e-12)
                if b.switch_off_margin <= rel <= b.switch_on_margin:
                    seen["held in band"] += 1
    assert min(seen["off"], seen["on"], seen["held in band"]) > 0, seen


# ------------------------------------------------------------------------------ (b) aggregation


@pytest.mark.parametrize("seed", SEEDS)
def test_recorder_aggregation_equals_reference(seed: int) -> None:
    world = random_world(seed)
    rng = np.random.default_rng(seed + 1000)
    num_c = len(world.chains)
    hashrate = np.array(ref.mining_hashrate(world))
    blocks = rng.integers(0, 300, num_c)
    reward_coins = blocks * rng.uniform(1, 7, num_c)
    econ = economics(world, hashrate)
    recorder = Recorder(world)
    today = world.day
    recorder.record(today, econ, hashrate, blocks, reward_coins)
    day = ref.aggregate(world, list(hashrate), list(reward_coins * world.price_usd))
    got = recorder.regions[today][0]  # (C, R, fields) of the world's one copy
    col = {name: j for j, name in enumerate(REGION_FIELDS)}
    for c in range(num_c):
        for a in range(world.num_regions):
            want = day.regions[c][a]
            for s, name in enumerate(STATUS_NAMES):
                assert got[c, a, col[f"rigs_{name}"]] == want[f"s{s}"]
            for name in ("hashrate_hs", "share", "power_mw", "energy_mwh", "co2_t",
                         "revenue_usd", "cost_usd"):
                assert got[c, a, col[name]] == pytest.approx(want[name], rel=RTOL, abs=1e-9), \
                    (c, world.geo.names[a], name)
    pools = recorder.pools[today]
    for p, want in enumerate(day.pools):
        for j, name in enumerate(POOL_FIELDS):
            assert pools[p, j] == pytest.approx(want[name], rel=RTOL, abs=1e-9), (p, name)
    facs = recorder.facilities[today]
    for f, want in enumerate(day.facilities):
        assert facs[f, FACILITY_FIELDS.index("capacity_mw")] == world.fac_capacity_mw[f]
        for name in ("used_mw", "rigs", "revenue_usd", "cost_usd"):
            got_f = facs[f, FACILITY_FIELDS.index(name)]
            assert got_f == pytest.approx(want[name], rel=RTOL, abs=1e-6), (f, name)


# ------------------------------------------------------------------------------ (c) admission


def _admission_outcome(world: World, tags: np.ndarray) -> Counter[tuple[int, int]]:
    """Rigs that went online per (original row, facility), from rows tagged by t_due."""
    fleet = world.fleet
    out: Counter[tuple[int, int]] = Counter()
    for i in range(fleet.size):
        row = int(fleet.t_due[i])
        if tags[row] == QUEUED and fleet.status[i] == ONLINE and fleet.count[i] > 0:
            out[(row, int(fleet.facility[i]))] += int(fleet.count[i])
    return out


@pytest.mark.parametrize("reach", [False, True, "large"])
@pytest.mark.parametrize("resolution", ["cohort", "rig"])
@pytest.mark.parametrize("seed", SEEDS)
def test_fifo_admission_equals_reference(seed: int, resolution: str, reach: bool | str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # reach: the queue is cut to the rows within reach of free capacity before sorting
    # (normally only for long queues), which must change nothing; "large": the way a fleet
    # of millions does it (compiled, where numba is installed)
    monkeypatch.setattr(facilities, "REACH_MIN_QUEUE", 0 if reach else 10**9)
    if reach == "large":
        monkeypatch.setattr(rowsearch, "LARGE", 0)
    world = (random_world(seed, rows=60) if resolution == "cohort"
             else random_world(seed, rows=200, max_count=1, resolution="rig"))
    fleet = world.fleet
    rng = np.random.default_rng(seed)
    # queue days with ties (and spread over days when cut), so that row order breaks them
    fleet.t_since[:] = rng.integers(0, 12 if reach else 3, fleet.size)
    expected = Counter(ref.admit(world))
    # admission never reads t_due: use it to tag every rig with its original row
    status_before = fleet.status.copy()
    fleet.set(np.arange(fleet.size), t_due=np.arange(fleet.size))
    total_before = fleet.total_by_status()
    admit_queued(world)
    assert _admission_outcome(world, status_before) == expected
    after = world.fleet.total_by_status()
    moved = sum(expected.values())
    assert after[ONLINE] == total_before[ONLINE] + moved
    assert after[QUEUED] == total_before[QUEUED] - moved
    admitted = (world.fleet.status == ONLINE) & (status_before[world.fleet.t_due] == QUEUED)
    assert (world.fleet.t_since[admitted] == world.day).all()


def test_admission_covers_partial_and_blocked_queues() -> None:
    """The random worlds admit into facilities and general capacity, and leave rigs waiting
    behind one that does not fit."""
    seen: Counter[str] = Counter()
    for seed in SEEDS:
        world = random_world(seed, rows=60)
        admitted = Counter(row for row, _ in ref.admit(world))
        for row, n in admitted.items():
            seen["partial row" if n < world.fleet.count[row] else "whole row"] += 1
        seen["into a facility"] += sum(1 for _, f in ref.admit(world) if f >= 0)
        queued = world.fleet.count[world.fleet.status == QUEUED].sum()
        seen["left waiting"] += int(queued - sum(admitted.values()) > 0)
    assert min(seen.values()) > 0 and len(seen) == 4, seen


# ------------------------------------------------------------------------------ (d) pools


@pytest.mark.parametrize("seed", SEEDS)
def test_pool_reassignment_candidates_equal_reference(seed: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    world = random_world(seed, rows=40)
    fleet = world.fleet
    rng = np.random.default_rng(seed)
    status = fleet.status
    eligible = np.flatnonzero((status != IN_TRANSIT) & (status != RETIRED)
                              & (status != UNDERGROUND) & (status != BANNED_OFF)
                              & (fleet.count > 0))
    rows = np.sort(rng.choice(eligible, size=min(len(eligible), 15), replace=False))
    moving = rng.integers(0, fleet.count[rows] + 1)
    rigs = {rig.row: rig for rig in ref.rigs_of(world)}  # one rig stands for its row
    want = {int(i): ref.pool_probabilities(world, rigs[int(i)]) for i in rows}
    candidates = {int(i): ref.pool_candidates(world, rigs[int(i)]) for i in rows}
    fleet.t_since[:] = 0
    # reassignment never reads the facility: use it to tag every rig with its original row
    fleet.set(np.arange(fleet.size), facility=1000 + np.arange(fleet.size))
    old_pool, count_before = fleet.pool.copy(), fleet.count.copy()

    captured: list[np.ndarray] = []
    real_allocate = World.allocate

    def spy(self: World, name: str, copy: np.ndarray, counts: np.ndarray, probs: np.ndarray
            ) -> np.ndarray:
        captured.append(probs.copy())
        return real_allocate(self, name, copy, counts, probs)

    monkeypatch.setattr(World, "allocate", spy)
    movers = cohorts_among(world, rows.astype(np.intp), world.streams["pools"])
    pool_agents.reassign(world, movers, moving)
    moved_rows = rows[moving > 0]
    if len(moved_rows) == 0:
        assert not captured
        return
    (probs,) = captured
    for j, i in enumerate(moved_rows):
        np.testing.assert_allclose(probs[j], want[int(i)], rtol=1e-9, atol=1e-15)
    fleet = world.fleet
    for i, n in zip(rows, moving, strict=True):
        mine = fleet.facility == 1000 + i
        counts = fleet.count[mine]
        switched = fleet.pool[mine] != old_pool[i]
        stranded = (fleet.status[mine] == BANNED_OFF) & (fleet.t_since[mine] == world.day)
        assert counts.sum() == count_before[i]  # rigs conserved
        assert set(fleet.pool[mine][switched & (counts > 0)]) <= set(candidates[int(i)])
        if candidates[int(i)]:
            assert counts[switched].sum() == n and counts[stranded].sum() == 0
        else:
            assert counts[switched].sum() == 0 and counts[stranded].sum() == n
            assert (fleet.t_due[mine][stranded] == NEVER).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_rigs_needing_a_new_pool_equal_reference(seed: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    world = random_world(seed, rows=40)
    fleet = world.fleet
    rows = np.flatnonzero((fleet.status != IN_TRANSIT) & (fleet.count > 0)).astype(np.intp)
    rigs = {rig.row: rig for rig in ref.rigs_of(world)}
    want = [int(i) for i in rows if ref.needs_new_pool(world, rigs[int(i)])]
    seen: list[tuple[list[int], list[int]]] = []

    def spy(world: World, movers: Cohorts, moving: np.ndarray) -> None:
        assert movers.rows is not None  # cohort resolution: the rows themselves
        seen.append(([int(i) for i in movers.rows], [int(n) for n in moving]))

    monkeypatch.setattr(pool_agents, "reassign", spy)
    pool_agents.ensure_served(world, rows)
    if not want:  # nobody needs a new pool: nothing to reassign
        assert not seen
        return
    ((got, moving),) = seen
    assert got == want
    assert moving == [int(fleet.count[i]) for i in want]  # the whole row moves


# ------------------------------------------------------------------------------ (e) random kernels
#
# Each statistical test below rejects a correct kernel with probability ALPHA (Bonferroni over
# the tests of this section: below 1 % in all); the seeds are fixed, so a pass is reproducible.

ALPHA = 1e-4


def _pooled(columns: list[list[int]], min_total: int = 10) -> np.ndarray:
    """A contingency table (samples × outcomes) with rare outcomes merged into one column."""
    table = np.array(columns, dtype=float).T  # (samples, outcomes)
    big = table.sum(axis=0) >= min_total
    merged = table[:, big]
    if (~big).any():
        merged = np.column_stack([merged, table[:, ~big].sum(axis=1)])
    return merged


def two_sample_p(a: Counter[Any], b: Counter[Any]) -> float:
    """Chi-square test that two samples of outcomes come from one distribution."""
    keys = sorted(set(a) | set(b))
    table = _pooled([[a[k], b[k]] for k in keys])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def goodness_p(observed: Counter[Any], pmf: dict[Any, float]) -> float:
    """Chi-square goodness of fit of `observed` outcomes to `pmf` (bins pooled to ≥ 5
    expected). An outcome outside the support fails outright."""
    if set(observed) - {k for k, v in pmf.items() if v > 0}:
        return 0.0
    n = sum(observed.values())
    keys = sorted(pmf, key=lambda k: pmf[k], reverse=True)
    obs, exp, rest_o, rest_e = [], [], 0.0, 0.0
    for k in keys:
        if n * pmf[k] >= 5:
            obs.append(observed[k])
            exp.append(n * pmf[k])
        else:
            rest_o += observed[k]
            rest_e += n * pmf[k]
    if rest_e > 0:
        obs.append(rest_o)
        exp.append(rest_e)
    if len(obs) < 2:
        return 1.0
    exp_arr = np.array(exp) * n / np.sum(exp)
    return float(stats.chisquare(obs, exp_arr).pvalue)


def test_thin_edges() -> None:
    rng = np.random.default_rng(0)
    counts = np.array([0, 3, 7], dtype=np.int64)
    assert kernels.thin(rng, counts, 0.0).tolist() == [0, 0, 0]
    assert kernels.thin(rng, counts, 1.0).tolist() == [0, 3, 7]
    assert kernels.thin(rng, np.zeros(0, dtype=np.int64), 0.5).tolist() == []


@pytest.mark.parametrize("p", [0.05, 0.5, 0.93])
def test_thin_dense_equals_per_rig_bernoulli_in_distribution(p: float) -> None:
    counts = [0, 1, 2, 5, 13, 40]
    reps = 3000
    rng = np.random.default_rng(1)
    engine = np.array([kernels.thin(rng, np.array(counts, dtype=np.int64), p)
                       for _ in range(reps)])
    loop_rng = random.Random(2)
    loop = np.array([ref.thin(loop_rng, counts, p) for _ in range(reps)])
    for j, n in enumerate(counts):
        got, want = Counter(engine[:, j].tolist()), Counter(loop[:, j].tolist())
        assert two_sample_p(got, want) > ALPHA, (n, p)
        pmf = {k: float(stats.binom.pmf(k, n, p)) for k in range(n + 1)}
        assert goodness_p(got, pmf) > ALPHA, (n, p)
        assert goodness_p(want, pmf) > ALPHA, (n, p)  # the reference itself is binomial


@pytest.mark.parametrize("p", [0.002, 0.2])
def test_thin_sparse_path_equals_per_rig_bernoulli_in_distribution(p: float) -> None:
    n, reps, loop_reps = 5000, 1000, 200
    assert n >= kernels.SPARSE_MIN_ROWS  # single-rig rows, many: the sparse path
    ones = np.ones(n, dtype=np.int64)
    rng = np.random.default_rng(3)
    per_row = np.zeros(n)
    totals: Counter[int] = Counter()
    pair_hits = 0
    for _ in range(reps):
        hit = kernels.thin(rng, ones, p)
        assert set(np.unique(hit).tolist()) <= {0, 1}
        per_row += hit
        totals[int(hit.sum())] += 1
        pair_hits += int((hit[0::2] & hit[1::2]).sum())
    loop_rng = random.Random(4)
    loop_totals = Counter(sum(ref.thin(loop_rng, [1] * n, p)) for _ in range(loop_reps))
    # how many are hit: Binomial(n, p), like the sum of per-rig draws
    pmf = {k: float(stats.binom.pmf(k, n, p)) for k in range(n + 1)}
    assert goodness_p(totals, pmf) > ALPHA
    assert two_sample_p(totals, loop_totals) > ALPHA
    # which are hit: each rig with probability p (its count over the reps is Binomial(reps, p),
    # independently: the sum of squared z-scores is chi-square with n degrees of freedom)
    if reps * p >= 20:
        z2 = float(np.sum((per_row - reps * p) ** 2) / (reps * p * (1 - p)))
        assert stats.chi2.sf(z2, n) > ALPHA and stats.chi2.cdf(z2, n) > ALPHA
    # independently of each other: disjoint pairs are both hit with probability p²
    trials = reps * (n // 2)
    assert stats.binomtest(pair_hits, trials, p * p).pvalue > ALPHA


@pytest.mark.parametrize(("count", "probs"), [
    (3, [0.2, 0.3]),  # a remainder of 0.5 stays unallocated
    (5, [0.5, 0.7]),  # more than one: scaled down to sum to one
    (4, [0.0, 0.4, 0.6]),  # an alternative never chosen
    (2, [1.0, 0.0]),
])
def test_allocate_equals_per_rig_categorical_in_distribution(count: int, probs: list[float]
                                                            ) -> None:
    reps = 4000
    rng = np.random.default_rng(5)
    engine = Counter(tuple(kernels.allocate(rng, np.array([count]), np.array([probs]))[0]
                           .tolist()) for _ in range(reps))
    loop_rng = random.Random(6)
    loop = Counter(tuple(ref.allocate(loop_rng, [count], [probs])[0]) for _ in range(reps))
    assert two_sample_p(engine, loop) > ALPHA
    q = [min(max(x, 0.0), 1.0) for x in probs]
    q = [x / max(sum(q), 1.0) for x in q]
    full = [*q, max(1.0 - sum(q), 0.0)]
    pmf: dict[tuple[int, ...], float] = {}
    for outcome in _compositions(count, len(full)):
        pmf[outcome[:-1]] = float(stats.multinomial.pmf(outcome, count, full))
    assert goodness_p(engine, pmf) > ALPHA
    assert goodness_p(loop, pmf) > ALPHA


def _compositions(n: int, parts: int) -> list[tuple[int, ...]]:
    if parts == 1:
        return [(n,)]
    return [(k, *rest) for k in range(n + 1) for rest in _compositions(n - k, parts - 1)]


def test_allocate_large_rows_marginals_equal_per_rig_categorical() -> None:
    counts, probs = [1000, 1], [[0.1, 0.25, 0.05], [0.3, 0.3, 0.3]]
    reps, loop_reps = 3000, 300
    rng = np.random.default_rng(7)
    engine = np.array([kernels.allocate(rng, np.array(counts), np.array(probs))
                       for _ in range(reps)])  # (reps, rows, A)
    loop_rng = random.Random(8)
    loop = np.array([ref.allocate(loop_rng, counts, probs) for _ in range(loop_reps)])
    assert (engine.sum(axis=2) <= np.array(counts)).all()
    for row, n in enumerate(counts):
        for a, q in enumerate(probs[row]):
            got = Counter(engine[:, row, a].tolist())
            want = Counter(loop[:, row, a].tolist())
            assert two_sample_p(got, want) > ALPHA, (row, a)
            pmf = {k: float(stats.binom.pmf(k, n, q)) for k in range(n + 1)}
            assert goodness_p(got, pmf) > ALPHA, (row, a)
