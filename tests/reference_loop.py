"""A slow, obvious reference of the deterministic parts of the daily step: plain loops over
individual rigs, no numpy vectorisation.

Each function reads a world (the tables and the state that the institutions set: prices,
haircuts, cut-offs, capacities, pool flags) and answers what one rig at a time would do or
contribute. Static facts (monthly power prices, the region tree, pools' home countries,
facilities' power prices) are read from the scenario itself, not from the compiled arrays, so
that the compilation is checked too. `tests/test_reference.py` holds the vectorised kernels
equal to these loops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim.state import NEVER, NUM_STATUSES, OFFLINE, ONLINE, QUEUED, UNDERGROUND
from sim.world import World

SECONDS_PER_DAY = 86_400.0
TWO_32 = 2.0**32
SHARE_FLOOR = 1e-6  # pool shares below this count as this in the pool-choice logit
FIT_TOLERANCE = 1e-9  # a rig fits if it overshoots free capacity by < 1e-9 of its own power


@dataclass
class Rig:
    """One rig: the row it came from and that row's attributes."""

    row: int
    status: int
    region: int  # where it is; while in transit, where it is going
    pool: int
    hw: int
    facility: int
    t_since: int
    t_due: int = NEVER  # a running timer: in transit, hibernating, or suspended if offline


def rigs_of(world: World) -> list[Rig]:
    """Every rig of the fleet, row by row (a row of `count` rigs gives `count` rigs)."""
    fleet = world.fleet
    out = []
    for i in range(fleet.size):
        for _ in range(int(fleet.count[i])):
            out.append(Rig(i, int(fleet.status[i]), int(fleet.region[i]), int(fleet.pool[i]),
                           int(fleet.hw[i]), int(fleet.facility[i]), int(fleet.t_since[i]),
                           int(fleet.t_due[i])))
    return out


# ------------------------------------------------------------------------------ the region tree


def region_index(world: World, name: str) -> int:
    return [r.name for r in world.scenario.regions].index(name)


def ancestors_or_self(world: World, r: int) -> list[int]:
    """`r` and every region above it, following `parent` names in the scenario."""
    regions = world.scenario.regions
    out = [r]
    while regions[out[-1]].parent is not None:
        out.append(region_index(world, regions[out[-1]].parent))
    return out


def country(world: World, r: int) -> int:
    return ancestors_or_self(world, r)[-1]


# ------------------------------------------------------------------------------ (a) economics


def electricity_usd_per_kwh(world: World, r: int) -> float:
    """Today's power price in region `r`: the month's price less incentives, not below 0."""
    spec = world.scenario.regions[r]
    month = world.date(world.day).month
    base = (spec.electricity_monthly_usd_per_kwh[month - 1]
            if spec.electricity_monthly_usd_per_kwh is not None
            else spec.electricity_usd_per_kwh)
    return max(base - float(world.discount_usd_per_kwh[r]), 0.0)


def reward_per_block_coins(world: World, c: int) -> float:
    """Subsidy of the next block (its era by halvings) plus fees."""
    chain = world.chains[c]
    coin = chain.coin
    height = chain.height + 1
    era = 0 if coin.halving_interval_blocks is None else height // coin.halving_interval_blocks
    fees = coin.fees_per_block_coins
    today = world.date(world.day)
    for step in coin.fees_schedule:  # the last step dated today or earlier holds
        if step.date <= today:
            fees = step.coins
    return coin.subsidy_coins / 2.0**era + fees


def hashprice_usd_per_hs_day(world: World, c: int, network_hashrate_hs: float) -> float:
    """USD one H/s earns in a day: bitcoin 86400·reward·price / (D·2³²); tracking: the day's
    blocks at target rate share reward·price over the network hashrate."""
    chain = world.chains[c]
    reward_usd = reward_per_block_coins(world, c) * float(world.price_usd[c])
    if chain.coin.rule == "bitcoin":
        return SECONDS_PER_DAY * reward_usd / (chain.difficulty * TWO_32)
    if network_hashrate_hs <= 0:
        return 0.0
    return SECONDS_PER_DAY / chain.coin.block_time_s * reward_usd / network_hashrate_hs


def mining_hashrate(world: World) -> list[float]:
    """Hashrate of rigs online or underground, per coin."""
    out = [0.0] * len(world.scenario.coins)
    for rig in rigs_of(world):
        if rig.status in (ONLINE, UNDERGROUND):
            out[hw_coin(world, rig.hw)] += world.scenario.hardware[rig.hw].hashrate_hs
    return out


def hw_coin(world: World, k: int) -> int:
    return [c.name for c in world.scenario.coins].index(world.scenario.hardware[k].coin)


def power_cost_usd_per_day(world: World, k: int, r: int) -> float:
    """One rig of model `k` in region `r` outside any facility: kWh a day × power price."""
    return world.scenario.hardware[k].power_w * 24.0 / 1000.0 * electricity_usd_per_kwh(world, r)


def rig_cost_usd_per_day(world: World, rig: Rig) -> float:
    """What one rig pays a day: its power at the facility's price (the region's if it has
    none) plus the hosting fee in a hosting facility; the region's price outside one."""
    kwh = world.scenario.hardware[rig.hw].power_w * 24.0 / 1000.0
    if rig.facility < 0:
        return kwh * electricity_usd_per_kwh(world, rig.region)
    fac = world.scenario.facilities[rig.facility]
    price = (fac.power_usd_per_kwh if fac.power_usd_per_kwh is not None
             else electricity_usd_per_kwh(world, rig.region))
    fee = fac.hosting_fee_usd_per_kwh if fac.mode == "hosting" else 0.0
    return kwh * (price + fee)


def rig_revenue_usd_per_day(world: World, rig: Rig, hashprice: list[float]) -> float:
    """One rig's revenue net of its pool's fee and its region's off-ramp haircut."""
    hw = world.scenario.hardware[rig.hw]
    gross = hw.hashrate_hs * hashprice[hw_coin(world, rig.hw)]
    return (gross * (1.0 - world.scenario.pools[rig.pool].fee)
            * (1.0 - float(world.haircut[rig.region])))


def switched_status(world: World, rig: Rig, hashprice: list[float]) -> int:
    """A rig's status after switching: online → offline below the off margin, offline →
    online above the on margin unless its power is cut or it is suspended; others unchanged."""
    b = world.scenario.behaviour
    cost = rig_cost_usd_per_day(world, rig)
    revenue = rig_revenue_usd_per_day(world, rig, hashprice)
    relative = (revenue - cost) / max(cost, 1e-12)
    if rig.status == ONLINE and relative < b.switch_off_margin:
        return OFFLINE
    suspended = rig.t_due != NEVER  # an offline rig with a timer waits it out
    if (rig.status == OFFLINE and relative > b.switch_on_margin and not world.cutoff[rig.region]
            and not suspended):
        return ONLINE
    return rig.status


# ------------------------------------------------------------------------------ (b) aggregation


@dataclass
class Day:
    """One day's aggregates. Regions: [coin][region] → dict of figures; pools: [pool] → dict;
    facilities: [facility] → dict."""

    regions: list[list[dict[str, float]]]
    pools: list[dict[str, float]]
    facilities: list[dict[str, float]]


def aggregate(world: World, network_hashrate_hs: list[float], revenue_usd: list[float]) -> Day:
    """Regions (every level), pools and facilities, summed rig by rig.

    A rig in transit counts at its destination; rigs online or underground mine, draw power
    and earn their hashrate's part of the day's revenue; a facility's books hold its racked
    (online or offline) rigs, and the revenue and power bill of its online ones.
    """
    sc = world.scenario
    num_r, num_c = len(sc.regions), len(sc.coins)
    fields = ("hashrate_hs", "power_mw", "energy_mwh", "co2_t", "revenue_usd", "cost_usd")
    regions = [[{**dict.fromkeys(fields, 0.0), **{f"s{s}": 0.0 for s in range(NUM_STATUSES)}}
                for _ in range(num_r)] for _ in range(num_c)]
    pools = [{"hashrate_hs": 0.0, "rigs": 0.0, "revenue_usd": 0.0} for _ in sc.pools]
    facilities = [{"used_mw": 0.0, "rigs": 0.0, "revenue_usd": 0.0,
                   "cost_usd": f.fixed_cost_usd_per_month * 12 / 365.25} for f in sc.facilities]
    per_hs = [revenue_usd[c] / network_hashrate_hs[c] if network_hashrate_hs[c] > 0 else 0.0
              for c in range(num_c)]
    for rig in rigs_of(world):
        hw = sc.hardware[rig.hw]
        c = hw_coin(world, rig.hw)
        where = rig.region  # a rig in transit counts where it is going
        mining = rig.status in (ONLINE, UNDERGROUND)
        mw = hw.power_w / 1e6
        for a in ancestors_or_self(world, where):
            regions[c][a][f"s{rig.status}"] += 1
            if mining:
                out = regions[c][a]
                out["hashrate_hs"] += hw.hashrate_hs
                out["power_mw"] += mw
                out["energy_mwh"] += mw * 24.0
                out["co2_t"] += mw * 24.0 * sc.regions[where].carbon_g_per_kwh / 1000.0
                out["revenue_usd"] += hw.hashrate_hs * per_hs[c]
                out["cost_usd"] += rig_cost_usd_per_day(world, rig)
        if mining:
            pools[rig.pool]["hashrate_hs"] += hw.hashrate_hs
            pools[rig.pool]["rigs"] += 1
            pools[rig.pool]["revenue_usd"] += hw.hashrate_hs * per_hs[c]
        if rig.facility >= 0 and rig.status in (ONLINE, OFFLINE):
            books = facilities[rig.facility]
            books["used_mw"] += mw
            books["rigs"] += 1
            if rig.status == ONLINE:
                spec = sc.facilities[rig.facility]
                kwh = hw.power_w * 24.0 / 1000.0
                price = (spec.power_usd_per_kwh if spec.power_usd_per_kwh is not None
                         else electricity_usd_per_kwh(world, rig.region))
                if spec.mode == "hosting":  # the rig's bill: its power, resold, and the fee
                    books["revenue_usd"] += kwh * (price + spec.hosting_fee_usd_per_kwh)
                else:  # what the rig earns: less its pool's fee and its region's haircut
                    books["revenue_usd"] += (hw.hashrate_hs * per_hs[c]
                                             * (1.0 - sc.pools[rig.pool].fee)
                                             * (1.0 - float(world.haircut[rig.region])))
                books["cost_usd"] += kwh * price
    for c in range(num_c):
        for a in range(num_r):
            h = network_hashrate_hs[c]
            regions[c][a]["share"] = regions[c][a]["hashrate_hs"] / h if h > 0 else 0.0
    for p, pool in enumerate(sc.pools):
        h = network_hashrate_hs[[c.name for c in sc.coins].index(pool.coin)]
        pools[p]["share"] = pools[p]["hashrate_hs"] / h if h > 0 else 0.0
    return Day(regions, pools, facilities)


# ------------------------------------------------------------------------------ (c) admission


def admit(world: World) -> list[tuple[int, int]]:
    """First come, first served: which queued rigs go online, and where.

    Returns (row, facility) for every admitted rig (facility −1: the region's general
    capacity). Queued rigs line up by the day they joined the queue (then by row). A rig
    ordered by a facility waits for that facility; any other rig tries its region's hosting
    facilities in turn, then the general capacity. In each place rigs are taken in line until
    one does not fit: nobody behind it overtakes. Rigs online or offline occupy capacity; a
    power cut-off leaves no room.
    """
    sc = world.scenario
    rigs = rigs_of(world)
    fac_free = [float(world.fac_capacity_mw[f]) for f in range(len(sc.facilities))]
    general_free = [float(world.capacity_mw[r]) for r in range(len(sc.regions))]
    for rig in rigs:
        if rig.status in (ONLINE, OFFLINE):
            mw = sc.hardware[rig.hw].power_w / 1e6
            if rig.facility >= 0:
                fac_free[rig.facility] -= mw
            else:
                general_free[rig.region] -= mw
    fac_region = [region_index(world, f.region) for f in sc.facilities]
    for f in range(len(sc.facilities)):
        if world.cutoff[fac_region[f]]:
            fac_free[f] = 0.0
    for r in range(len(sc.regions)):
        if world.cutoff[r]:
            general_free[r] = 0.0
    line = sorted((rig for rig in rigs if rig.status == QUEUED),
                  key=lambda rig: (rig.t_since, rig.row))
    admitted: list[tuple[int, int]] = []

    def serve(waiting: list[Rig], free: list[float], key: int, facility: int) -> list[Rig]:
        """Admit from the head of `waiting` into free[key]; returns those left waiting."""
        used = 0.0
        for i, rig in enumerate(waiting):
            mw = sc.hardware[rig.hw].power_w / 1e6
            if not free[key] > 0 or used + mw > free[key] + FIT_TOLERANCE * mw:
                free[key] -= used
                return waiting[i:]
            used += mw
            admitted.append((rig.row, facility))
        free[key] -= used
        return []

    for f in range(len(sc.facilities)):
        serve([rig for rig in line if rig.facility == f], fac_free, f, f)
    for r in range(len(sc.regions)):
        waiting = [rig for rig in line if rig.facility < 0 and rig.region == r]
        for f in range(len(sc.facilities)):
            if fac_region[f] == r and sc.facilities[f].mode == "hosting":
                waiting = serve(waiting, fac_free, f, f)
        serve(waiting, general_free, r, -1)
    return admitted


# ------------------------------------------------------------------------------ (d) pools


def pool_candidates(world: World, rig: Rig) -> list[int]:
    """Pools a rig leaving its pool may join: open, taking new miners from its region, mining
    its coin, and not the pool it leaves."""
    sc = world.scenario
    coin = sc.hardware[rig.hw].coin
    return [p for p, pool in enumerate(sc.pools)
            if world.pool_open[p] and world.pool_accepts[p, rig.region] and pool.coin == coin
            and p != rig.pool]


def pool_probabilities(world: World, rig: Rig) -> list[float]:
    """Logit over the candidates: −w_fee·fee + w_size·log(share) + w_affinity·[same country]."""
    sc = world.scenario
    w = sc.behaviour.pool_choice
    candidates = pool_candidates(world, rig)
    utility = {}
    for p in candidates:
        home = sc.pools[p].home_region
        same = home is not None and country(world, region_index(world, home)) == country(
            world, rig.region)
        utility[p] = (-w.fee * sc.pools[p].fee
                      + w.size * math.log(max(float(world.pool_share[p]), SHARE_FLOOR))
                      + w.affinity * same)
    probs = [0.0] * len(sc.pools)
    if not candidates:
        return probs
    top = max(utility.values())
    total = sum(math.exp(u - top) for u in utility.values())
    for p, u in utility.items():
        probs[p] = math.exp(u - top) / total
    return probs


def needs_new_pool(world: World, rig: Rig) -> bool:
    """A rig whose pool has closed or does not serve its region must pick another."""
    return not (world.pool_open[rig.pool] and world.pool_serves[rig.pool, rig.region])


# ------------------------------------------------------------------------------ (e) random kernels


def thin(rng: Any, counts: list[int], p: float) -> list[int]:
    """Each rig of each row is hit with probability p, independently (one draw per rig)."""
    return [sum(1 for _ in range(n) if rng.random() < p) for n in counts]


def allocate(rng: Any, counts: list[int], probs: list[list[float]]) -> list[list[int]]:
    """Each rig picks alternative a with probability probs[a] (probabilities clipped to [0, 1]
    and scaled down if they sum above one); with what is left it picks none."""
    out = []
    for n, row in zip(counts, probs, strict=True):
        q = [min(max(x, 0.0), 1.0) for x in row]
        total = sum(q)
        if total > 1.0:
            q = [x / total for x in q]
        picks = [0] * len(q)
        for _ in range(n):
            u, edge = rng.random(), 0.0
            for a, x in enumerate(q):
                edge += x
                if u < edge:
                    picks[a] += 1
                    break
        out.append(picks)
    return out

