"""Recording: the daily aggregates into preallocated arrays, then tidy tables.

Aggregation reads the fleet's tally — rigs by (group, status), kept exact as rigs change — so a
day's figures cost O(groups), not O(rigs); every regional, pool and facility figure is derived
from those counts, the groups' attributes and the hardware table. In-transit rigs are
counted at their destination. Parent regions hold the sums of their descendants
(`aggregate` = True in regions.csv).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim import kernels
from sim.agents.miners import Economics, group_cost_usd_per_day
from sim.chain import SECONDS_PER_DAY
from sim.state import NUM_STATUSES, OFFLINE, ONLINE, STATUS_NAMES, SUSPENDED, UNDERGROUND
from sim.world import World

F64 = NDArray[np.float64]

NETWORK_FIELDS = ("hashrate_hs", "difficulty", "blocks", "mean_block_time_s", "price_usd",
                  "hashprice_usd_per_phs_day", "revenue_usd")
REGION_FIELDS = ("hashrate_hs", "share", *(f"rigs_{s}" for s in STATUS_NAMES), "power_mw",
                 "energy_mwh", "co2_t", "revenue_usd", "cost_usd")
POOL_FIELDS = ("hashrate_hs", "share", "rigs", "revenue_usd")
FACILITY_FIELDS = ("capacity_mw", "used_mw", "rigs", "revenue_usd", "cost_usd")
FLOW_FIELDS = ("rigs_departed", "rigs_arrived", "hashrate_hs")


class Recorder:
    def __init__(self, world: World) -> None:
        sc = world.scenario
        self.world = world
        days, num_c, num_r = sc.num_days, len(sc.coins), world.num_regions
        self.network = np.zeros((days, num_c, len(NETWORK_FIELDS)))
        self.regions = np.zeros((days, num_c, num_r, len(REGION_FIELDS)))
        self.pools = np.zeros((days, len(sc.pools), len(POOL_FIELDS)))
        self.facilities = np.zeros((days, len(sc.facilities), len(FACILITY_FIELDS)))
        self.flows: list[F64] = []
        num_k = len(world.hw_coin)
        self.onehot = np.zeros((num_k, num_c))
        self.onehot[np.arange(num_k), world.hw_coin] = 1.0

    def record(self, day: int, econ: Economics, hashrate: F64, blocks: NDArray[np.int64],
               reward_coins: F64) -> None:
        """Store day `day`. `hashrate` (C,) is what mined today; `blocks`, `reward_coins` (C,)."""
        w = self.world
        revenue = reward_coins * w.price_usd
        self._network(day, econ, hashrate, blocks, revenue)
        share_of = np.divide(revenue, hashrate, out=np.zeros_like(revenue), where=hashrate > 0)
        self._regions(day, econ, hashrate, share_of)
        self._pools(day, hashrate, share_of)
        if len(w.fac_region):
            self._facilities(day, econ, share_of)
        self._flows(day)

    def _network(self, day: int, econ: Economics, hashrate: F64, blocks: NDArray[np.int64],
                 revenue: F64) -> None:
        w = self.world
        out = self.network[day]
        out[:, 0] = hashrate
        out[:, 1] = [ch.difficulty for ch in w.chains]
        out[:, 2] = blocks
        out[:, 3] = np.divide(SECONDS_PER_DAY, blocks, out=np.full(len(blocks), np.nan),
                              where=blocks > 0)
        out[:, 4] = w.price_usd
        out[:, 5] = econ.hashprice_usd_per_hs_day * 1e15
        out[:, 6] = revenue

    def _counts(self) -> F64:
        """Rigs by (location, hardware, status), shape (R, K, S)."""
        w, fleet = self.world, self.world.fleet
        num_k = len(w.hw_coin)
        g = fleet.group
        loc = (g("region") * num_k + g("hw"))[:, None] * NUM_STATUSES + np.arange(NUM_STATUSES)
        flat = kernels.bincount(loc.ravel(), fleet.tally_by_status().ravel(),
                                w.num_regions * num_k * NUM_STATUSES)
        return flat.reshape(w.num_regions, num_k, NUM_STATUSES)

    def _regions(self, day: int, econ: Economics, hashrate: F64, rev_per_hs: F64) -> None:
        w, fleet = self.world, self.world.fleet
        counts = self._counts()
        covers = w.geo.covers.astype(float)
        rigs = np.einsum("rks,kc->crs", counts, self.onehot)  # (C, R, S)
        mining = counts[:, :, ONLINE] + counts[:, :, UNDERGROUND]  # (R, K)
        hash_rc = (mining * w.hw_hashrate_hs) @ self.onehot  # (R, C)
        power_rc = (mining * w.hw_power_w / 1e6) @ self.onehot
        tally, g = fleet.tally, fleet.group
        cost = group_cost_usd_per_day(w, econ) * (tally[:, ONLINE] + tally[:, UNDERGROUND])
        num_c = len(w.chains)
        key = g("region") * num_c + w.hw_coin[g("hw")]
        cost_rc = kernels.bincount(key, cost, w.num_regions * num_c).reshape(w.num_regions,
                                                                             num_c)
        out = self.regions[day]  # (C, R, F)
        out[:, :, 0] = (covers @ hash_rc).T
        out[:, :, 1] = np.divide(out[:, :, 0], hashrate[:, None], out=np.zeros_like(out[:, :, 0]),
                                 where=hashrate[:, None] > 0)
        out[:, :, 2:2 + NUM_STATUSES] = np.einsum("ar,crs->cas", covers, rigs)
        power = (covers @ power_rc).T
        out[:, :, 9] = power
        out[:, :, 10] = power * 24.0
        out[:, :, 11] = (covers @ (power_rc * 24.0 * w.geo.carbon_g_per_kwh[:, None] / 1000.0)).T
        out[:, :, 12] = out[:, :, 0] * rev_per_hs[:, None]
        out[:, :, 13] = (covers @ cost_rc).T

    def _pools(self, day: int, hashrate: F64, rev_per_hs: F64) -> None:
        w, fleet = self.world, self.world.fleet
        tally, g = fleet.tally, fleet.group
        mining = tally[:, ONLINE] + tally[:, UNDERGROUND]
        num_p = len(w.pool_fee)
        rigs = kernels.bincount(g("pool"), mining, num_p)
        hs = kernels.bincount(g("pool"), mining * w.hw_hashrate_hs[g("hw")], num_p)
        total = hashrate[w.pool_coin]
        share = np.divide(hs, total, out=np.zeros_like(hs), where=total > 0)
        out = self.pools[day]
        out[:, 0], out[:, 1], out[:, 2] = hs, share, rigs
        out[:, 3] = hs * rev_per_hs[w.pool_coin]
        w.pool_share = share

    def _facilities(self, day: int, econ: Economics, rev_per_hs: F64) -> None:
        w, fleet = self.world, self.world.fleet
        num_f = len(w.fac_region)
        tally, g = fleet.tally, fleet.group
        fac, hw = g("facility"), g("hw")
        key = np.maximum(fac, 0)
        inside = fac >= 0
        online = np.where(inside, tally[:, ONLINE], 0)
        racked = np.where(inside, tally[:, ONLINE] + tally[:, OFFLINE] + tally[:, SUSPENDED], 0)
        power_mw = w.hw_power_w[hw] / 1e6

        def by_fac(weights: F64) -> F64:
            return kernels.bincount(key, weights, num_f)[:num_f]

        mining_rev = by_fac(online * w.hw_hashrate_hs[hw] * rev_per_hs[w.hw_coin[hw]])
        energy_kwh = by_fac(online * power_mw) * 24_000.0
        bills = by_fac(online * group_cost_usd_per_day(w, econ))  # what its rigs pay
        hosting_fees = np.where(w.fac_hosting, energy_kwh * w.fac_fee_usd_per_kwh, 0.0)
        out = self.facilities[day]
        out[:, 0] = w.fac_capacity_mw
        out[:, 1] = by_fac(racked * power_mw)
        out[:, 2] = by_fac(racked.astype(float))
        # A hosting site is paid its rigs' bills (their power, resold, and the fee) and pays
        # for the power; a self-mining site earns its rigs' rewards and pays for the power.
        out[:, 3] = np.where(w.fac_hosting, bills, mining_rev)
        out[:, 4] = bills - hosting_fees + w.fac_fixed_usd_per_day

    def _flows(self, day: int) -> None:
        w = self.world
        moved = (w.flow_departed > 0) | (w.flow_arrived > 0)
        c, o, d = np.nonzero(moved)  # by coin, then origin, then destination
        if len(o):
            self.flows.append(np.column_stack([
                np.full(len(o), day), c, o, d, w.flow_departed[c, o, d], w.flow_arrived[c, o, d],
                w.flow_hashrate[c, o, d]]))
        w.flow_departed[:] = 0.0
        w.flow_arrived[:] = 0.0
        w.flow_hashrate[:] = 0.0

    # ------------------------------------------------------------------ tables

    def tables(self, replicate: int) -> dict[str, pd.DataFrame]:
        _w, sc = self.world, self.world.scenario
        dates = pd.Index([sc.start + dt.timedelta(days=d) for d in range(sc.num_days)])
        coins = [c.name for c in sc.coins]
        return {
            "network": _tidy(self.network, ["date", "coin"], [dates, coins], NETWORK_FIELDS,
                             replicate),
            "regions": self._region_table(dates, coins, replicate),
            "pools": _tidy(self.pools, ["date", "pool"], [dates, [p.name for p in sc.pools]],
                           POOL_FIELDS, replicate,
                           extra={"coin": [sc.pools[i].coin for i in range(len(sc.pools))]}),
            "facilities": _tidy(self.facilities, ["date", "facility"],
                                [dates, [f.name for f in sc.facilities]], FACILITY_FIELDS,
                                replicate, extra={"region": [f.region for f in sc.facilities]}),
            "flows": self._flow_table(replicate),
            "events": self._event_table(replicate),
        }

    def _region_table(self, dates: pd.Index, coins: list[str], replicate: int) -> pd.DataFrame:
        w = self.world
        df = _tidy(self.regions, ["date", "coin", "region"], [dates, coins, w.geo.names],
                   REGION_FIELDS, replicate)
        df.insert(4, "aggregate", np.tile(~w.geo.is_leaf, len(dates) * len(coins)))
        return df

    def _flow_table(self, replicate: int) -> pd.DataFrame:
        w = self.world
        cols = ["date", "replicate", "coin", "origin", "destination", *FLOW_FIELDS]
        if not self.flows:
            return pd.DataFrame({c: pd.Series(dtype=object if c in ("date", "coin", "origin",
                                 "destination") else float) for c in cols})
        a = np.concatenate(self.flows)
        names = np.array(w.geo.names, dtype=object)
        coins = np.array([c.name for c in w.scenario.coins], dtype=object)
        return pd.DataFrame({
            "date": [w.date(d) for d in a[:, 0]],
            "replicate": replicate,
            "coin": coins[a[:, 1].astype(int)],
            "origin": names[a[:, 2].astype(int)],
            "destination": names[a[:, 3].astype(int)],
            "rigs_departed": a[:, 4].astype(np.int64),
            "rigs_arrived": a[:, 5].astype(np.int64),
            "hashrate_hs": a[:, 6],
        })

    def _event_table(self, replicate: int) -> pd.DataFrame:
        w = self.world
        events = sorted(w.events, key=lambda e: e.time_days)
        return pd.DataFrame({
            "date": [w.date(e.time_days) for e in events],
            "replicate": pd.Series([replicate] * len(events), dtype=np.int64),
            "time_days": pd.Series([e.time_days for e in events], dtype=float),
            "kind": pd.Series([e.kind for e in events], dtype=object),
            "actor": pd.Series([e.actor for e in events], dtype=object),
            "region": pd.Series([e.region for e in events], dtype=object),
            "description": pd.Series([e.description for e in events], dtype=object),
        })


def _tidy(values: F64, keys: list[str], labels: list[list | pd.Index], fields: tuple[str, ...],
          replicate: int, extra: dict[str, list] | None = None) -> pd.DataFrame:
    """A (n1, n2, …, F) array as a long table with one row per key combination."""
    shape = values.shape[:-1]
    index = pd.MultiIndex.from_product(labels, names=keys)
    df = pd.DataFrame(values.reshape(-1, values.shape[-1]), columns=list(fields))
    for name in reversed(keys):
        df.insert(0, name, index.get_level_values(name))
    df.insert(1, "replicate", replicate)
    if extra:
        for name, per_last in extra.items():
            df.insert(len(keys) + 1, name, np.tile(np.asarray(per_last, dtype=object),
                                                   int(np.prod(shape[:-1]))))
    for col in fields:
        if col.startswith("rigs") or col == "blocks":
            df[col] = df[col].round().astype(np.int64)
    return df
