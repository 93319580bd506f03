"""Recording: the daily aggregates into preallocated arrays, then tidy tables.

Aggregation reads the fleet's tally — rigs by (group, status), kept exact as rigs change — so a
day's figures cost O(groups), not O(rigs); every regional, pool and facility figure is derived
from those counts, the groups' attributes and the hardware table. In-transit rigs are
counted at their destination. Parent regions hold the sums of their descendants
(`aggregate` = True in regions.csv).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim import kernels
from sim.agents.miners import Economics, group_cost_usd_per_day, net_share
from sim.chain import SECONDS_PER_DAY
from sim.scenario import Scenario
from sim.state import (
    NUM_SUB_USED,
    OFFLINE,
    ONLINE,
    STATUS_NAMES,
    SUB_STATUS,
    SUSPENDED,
    UNDERGROUND,
)
from sim.world import CHOICES, Event, World

F64 = NDArray[np.float64]

NETWORK_FIELDS = ("hashrate_hs", "difficulty", "blocks", "mean_block_time_s", "price_usd",
                  "hashprice_usd_per_phs_day", "revenue_usd")
REGION_FIELDS = ("hashrate_hs", "share", *(f"rigs_{s}" for s in STATUS_NAMES), "power_mw",
                 "energy_mwh", "co2_t", "revenue_usd", "cost_usd")
POOL_FIELDS = ("hashrate_hs", "share", "rigs", "revenue_usd")
FACILITY_FIELDS = ("capacity_mw", "used_mw", "rigs", "revenue_usd", "cost_usd")
FLOW_FIELDS = ("rigs_departed", "rigs_arrived", "hashrate_hs")
NUM_REGION_FIELDS = len(REGION_FIELDS)
RIGS_FIELD = REGION_FIELDS.index("rigs_online")  # the first of a status each, in status order
POWER_FIELD, ENERGY_FIELD, CO2_FIELD, REVENUE_FIELD, COST_FIELD = (
    REGION_FIELDS.index(f) for f in ("power_mw", "energy_mwh", "co2_t", "revenue_usd", "cost_usd"))
#: Figures that the first sum (Recorder._group_sums) adds up per pool (rigs mining, their
#: hashrate) and per facility (its rigs' rewards, their MW online, their bills, MW racked, rigs
#: racked), in that order.
POOL_SUMS = 2
FACILITY_SUMS = 5
#: The tables among the first sum's bins that a group's figures go to, by the group's cell in
#: each: the regions' table by (region, coin), rigs mining by (region, hardware of its copy),
#: pools, facilities; and each table's width (bins a cell).
_REGION_TABLE, _MINING_TABLE, _POOL_TABLE, _FACILITY_TABLE = range(4)
_TABLE_WIDTHS = (NUM_REGION_FIELDS, 1, POOL_SUMS, FACILITY_SUMS)


class Recorder:
    """The daily aggregates of a world — of each copy of a batch world (sim/batch.py), whose
    regions, coins, pools, hardware and facilities come in equal blocks, one per copy: every
    figure is computed per copy, never across two."""

    def __init__(self, world: World) -> None:
        sc = world.scenario
        self.world = world
        k = world.copies
        days, num_c, num_r = sc.num_days, len(sc.coins), world.num_regions
        # per copy: coins, regions and hardware of one copy
        self.num_c, self.num_r, self.num_k = num_c // k, num_r // k, len(world.hw_coin) // k
        self.network = np.zeros((days, num_c, len(NETWORK_FIELDS)))
        self.regions = np.zeros((days, k, self.num_c, self.num_r, len(REGION_FIELDS)))
        self.pools = np.zeros((days, len(sc.pools), len(POOL_FIELDS)))
        self.facilities = np.zeros((days, len(sc.facilities), len(FACILITY_FIELDS)))
        self.flows: list[F64] = []
        self.decisions: list[F64] = []
        # a hardware model's and a coin's index within its copy
        self.hw_local = np.arange(len(world.hw_coin)) % self.num_k
        self.coin_of_hw = world.hw_coin[: self.num_k] % self.num_c
        # a copy's hardware models: hashrate and MW of one rig
        self.hw_hs_mw = np.stack([world.hw_hashrate_hs[: self.num_k],
                                  world.hw_power_w[: self.num_k] / 1e6], axis=1)
        # the bins of the first sum (_group_sums): the regions' table of leaf regions
        # (R, C, fields), rigs mining by (region, hardware of its copy), pools', facilities'
        num_leaf_bins = num_r * self.num_c * NUM_REGION_FIELDS
        self._mining_at = num_leaf_bins
        self._pools_at = self._mining_at + num_r * self.num_k
        self._facilities_at = self._pools_at + POOL_SUMS * len(sc.pools)
        self._num_bins = self._facilities_at + FACILITY_SUMS * len(sc.facilities)
        # each figure's table and the figure's bin for cell 0; its bin for cell i adds i × the
        # table's width
        blocks = self._figure_tables(len(sc.facilities) > 0)
        tables, offsets = zip(*itertools.chain(*blocks.values()), strict=True)
        self._figure_widths = np.zeros((len(_TABLE_WIDTHS), len(tables)), dtype=np.int64)
        self._figure_widths[tables, np.arange(len(tables))] = [_TABLE_WIDTHS[t] for t in tables]
        self._figure_offsets = np.array(offsets, dtype=np.int64)
        # each block's first column among a group's figures (_group_sums)
        self._column = dict(zip(blocks, itertools.accumulate(
            (len(block) for block in blocks.values()), initial=0), strict=False))
        # the second sum's: hashrate and MW of (region, hardware) → their (region, coin)'s
        self._hash_power_bins = (
            ((np.arange(num_r)[:, None] * self.num_c + self.coin_of_hw) * NUM_REGION_FIELDS)
            [:, :, None] + np.array([0, POWER_FIELD])).ravel()
        # the coin (of the world) of each (region, coin of its copy)
        self._coin_rc = (world.region_copy(np.arange(num_r))[:, None] * self.num_c
                         + np.arange(self.num_c))
        self._covers = np.nonzero(world.geo.covers)  # (region, region it covers), in order
        self._by_group: tuple[int, dict[str, NDArray[Any]]] = (-1, {})
        self._up_keys: dict[int, NDArray[np.int64]] = {}
        self._events_by_copy: dict[int, list[Event]] | None = None  # once the run is over
        self._flows_by_copy: list[F64] | None = None  # likewise
        self._decisions_by_copy: list[F64] | None = None  # likewise
        self._dates: dict[tuple[dt.date, int], pd.Index] = {}

    def record(self, day: int, econ: Economics, hashrate: F64, blocks: NDArray[np.int64],
               reward_coins: F64) -> None:
        """Store day `day`. `hashrate` (C,) is what mined today; `blocks`, `reward_coins` (C,)."""
        w = self.world
        revenue = reward_coins * w.price_usd
        self._network(day, econ, hashrate, blocks, revenue)
        share_of = np.divide(revenue, hashrate, out=np.zeros(len(revenue)), where=hashrate > 0)
        sums = self._group_sums(group_cost_usd_per_day(w, econ), share_of)
        self._regions(day, sums, hashrate, share_of)
        self._pools(day, sums, hashrate, share_of)
        if len(w.fac_region):
            self._facilities(day, sums)
        self._flows(day)
        self._decisions(day)

    def _network(self, day: int, econ: Economics, hashrate: F64, blocks: NDArray[np.int64],
                 revenue: F64) -> None:
        w = self.world
        out = self.network[day]
        out[:, 0] = hashrate
        out[:, 1] = [ch.difficulty for ch in w.chains]
        out[:, 2] = blocks
        out[:, 3] = np.nan  # (no block: no mean block time)
        np.divide(SECONDS_PER_DAY, blocks, out=out[:, 3], where=blocks > 0)
        out[:, 4] = w.price_usd
        out[:, 5] = econ.hashprice_usd_per_hs_day * 1e15
        out[:, 6] = revenue

    # The day's figures come from two sums (bincounts) and the region tree's: the first adds
    # up, over the groups of the tally, every figure that a group gives directly (rigs by
    # status, costs, pools', facilities'), each into its own bins; the second, hashrate and
    # power by (region, coin) from the rigs mining by (region, hardware) of the first — whole
    # numbers of rigs first, then hashes, as mining_hashrate sums them. Sums of floats run in
    # a fixed order (bincount adds in input order: the groups', or the hardware's, in order),
    # so that a copy of a batch world (sim/batch.py) sums the same terms in the same order as
    # a world alone.

    def _group_keys(self) -> dict[str, NDArray[Any]]:
        """The first sum's bins of each group's figures (G × figures, flat, a group's in a
        row), the buffer of their values (G, figures) and what the figures read of each group
        (G,) (groups are only ever added, and keep their attributes: made again when there are
        new ones)."""
        fleet, w = self.world.fleet, self.world
        made_for, keys = self._by_group
        if made_for == fleet.num_groups:
            return keys
        g = fleet.group
        region, hw, fac = g("region"), g("hw"), g("facility")
        # a group's cell in each table that its figures go to, in table order; a figure's bin
        # is its bin for cell 0 plus the cell times its table's width (see _figure_tables)
        cells = np.stack([region * self.num_c + self.coin_of_hw[self.hw_local[hw]],
                          region * self.num_k + self.hw_local[hw], g("pool"),
                          np.maximum(fac, 0)], axis=1)
        keys = {
            "bins": (cells @ self._figure_widths + self._figure_offsets).ravel(),
            "values": np.zeros((len(cells), len(self._figure_offsets))),  # (G, figures)
            "hashrate_hs": w.hw_hashrate_hs[hw],
            "coin": w.hw_coin[hw],
            "power_mw": w.hw_power_w[hw] / 1e6,
            "inside": (fac >= 0).astype(np.int64),
        }
        self._by_group = (fleet.num_groups, keys)
        return keys

    def _figure_tables(self, facilities: bool) -> dict[str, list[tuple[int, int]]]:
        """(table, bin of cell 0) of each figure of a group, by block of figures: the columns
        of _group_sums' values, in order."""
        return {
            # rigs by sub-status → the regions' rigs by status
            "rigs": [(_REGION_TABLE, RIGS_FIELD + int(SUB_STATUS[sub]))
                     for sub in range(NUM_SUB_USED)],
            # rigs online, and underground: mining by (region, hardware of its copy)
            "mining": [(_MINING_TABLE, self._mining_at)] * 2,
            "cost": [(_REGION_TABLE, COST_FIELD)],
            "pools": [(_POOL_TABLE, self._pools_at + j) for j in range(POOL_SUMS)],
            # (outside any facility: facility 0, nothing)
            "facilities": [(_FACILITY_TABLE, self._facilities_at + j)
                           for j in range(FACILITY_SUMS if facilities else 0)],
        }

    def _group_sums(self, cost_g: F64, rev_per_hs: F64) -> F64:
        """The first sum: every group's figures by their bins (see _group_keys)."""
        w, tally, keys = self.world, self.world.fleet.tally, self._group_keys()
        values, column = keys["values"], self._column
        rigs = column["rigs"]
        values[:, rigs:rigs + NUM_SUB_USED] = tally[:, :NUM_SUB_USED]
        online = tally[:, ONLINE]
        values[:, column["mining"]] = online
        values[:, column["mining"] + 1] = tally[:, UNDERGROUND]
        mining = online + tally[:, UNDERGROUND]
        np.multiply(cost_g, mining, out=values[:, column["cost"]])
        pools = values[:, column["pools"]:column["pools"] + POOL_SUMS]
        pools[:, 0] = mining
        np.multiply(mining, keys["hashrate_hs"], out=pools[:, 1])
        if len(w.fac_region):
            inside, power_mw = keys["inside"], keys["power_mw"]
            online = online * inside
            racked = (tally[:, ONLINE] + tally[:, OFFLINE] + tally[:, SUSPENDED]) * inside
            facilities = values[:, column["facilities"]:]
            # what its rigs earn (docs/model.md): their rewards less the pool's fee and an
            # exchange ban's haircut, as the rigs' own margins count them
            facilities[:, 0] = (online * keys["hashrate_hs"] * rev_per_hs[keys["coin"]]
                                * net_share(w))
            np.multiply(online, power_mw, out=facilities[:, 1])
            np.multiply(online, cost_g, out=facilities[:, 2])
            np.multiply(racked, power_mw, out=facilities[:, 3])
            facilities[:, 4] = racked
        return kernels.bincount(keys["bins"], values.ravel(), self._num_bins)

    def _regions(self, day: int, sums: F64, hashrate: F64, rev_per_hs: F64) -> None:
        w = self.world
        num_r, num_c = w.num_regions, self.num_c
        # hashrate and MW by (region, coin): the second sum, over hardware in its order
        mining = sums[self._mining_at:self._mining_at + num_r * self.num_k]
        hash_power = kernels.bincount(self._hash_power_bins, (mining.reshape(num_r, self.num_k, 1)
                                                              * self.hw_hs_mw).ravel(),
                                      num_r * num_c * NUM_REGION_FIELDS)
        # (each bin is filled by one of the two sums: adding the other's 0.0 changes nothing)
        hash_power += sums[:num_r * num_c * NUM_REGION_FIELDS]
        leaves = hash_power.reshape(num_r, num_c, NUM_REGION_FIELDS)
        leaves[..., CO2_FIELD] = (leaves[..., POWER_FIELD] * 24.0
                                  * w.geo.carbon_g_per_kwh[:, None] / 1000.0)
        # every figure summed up the region tree at once (each column on its own); the
        # figures derived from the sums are written after
        summed = self._up(leaves.reshape(num_r, -1)).reshape(num_r, num_c, NUM_REGION_FIELDS)
        hs = summed[..., 0]
        total = hashrate[self._coin_rc]
        np.divide(hs, total, out=summed[..., 1], where=total > 0)
        np.multiply(summed[..., POWER_FIELD], 24.0, out=summed[..., ENERGY_FIELD])
        np.multiply(hs, rev_per_hs[self._coin_rc], out=summed[..., REVENUE_FIELD])
        # (copies, C, R of a copy, F)
        self.regions[day] = summed.reshape(w.copies, self.num_r, num_c,
                                           NUM_REGION_FIELDS).transpose(0, 2, 1, 3)

    def _up(self, per_region: F64) -> F64:
        """(R, X) of leaf regions → (R, X) with each region's the sum over what it covers."""
        parent, child = self._covers
        num_r, num_x = per_region.shape
        key = self._up_keys.get(num_x)
        if key is None:
            key = self._up_keys[num_x] = (parent[:, None] * num_x + np.arange(num_x)).ravel()
        sums = kernels.bincount(key, per_region[child].ravel(), num_r * num_x)
        return sums.reshape(num_r, num_x)

    def _pools(self, day: int, sums: F64, hashrate: F64, rev_per_hs: F64) -> None:
        w = self.world
        by_pool = sums[self._pools_at:self._facilities_at].reshape(-1, POOL_SUMS)
        rigs, hs = by_pool[:, 0], by_pool[:, 1]
        total = hashrate[w.pool_coin]
        share = np.divide(hs, total, out=np.zeros(len(hs)), where=total > 0)
        out = self.pools[day]
        out[:, 0], out[:, 1], out[:, 2] = hs, share, rigs
        out[:, 3] = hs * rev_per_hs[w.pool_coin]
        w.pool_share = share

    def _facilities(self, day: int, sums: F64) -> None:
        w = self.world
        by_fac = sums[self._facilities_at:].reshape(-1, FACILITY_SUMS)
        mining_rev, bills = by_fac[:, 0], by_fac[:, 2]  # bills: what its rigs pay
        energy_kwh = by_fac[:, 1] * 24_000.0
        hosting_fees = np.where(w.fac_hosting, energy_kwh * w.fac_fee_usd_per_kwh, 0.0)
        out = self.facilities[day]
        out[:, 0] = w.fac_capacity_mw
        out[:, 1] = by_fac[:, 3]
        out[:, 2] = by_fac[:, 4]
        # A hosting site is paid its rigs' bills (their power, resold, and the fee) and pays
        # for the power; a self-mining site earns its rigs' rewards and pays for the power.
        out[:, 3] = np.where(w.fac_hosting, bills, mining_rev)
        out[:, 4] = bills - hosting_fees + w.fac_fixed_usd_per_day

    def _flows(self, day: int) -> None:
        w = self.world
        moved = (w.flow_departed > 0) | (w.flow_arrived > 0)
        k, c, o, d = np.nonzero(moved)  # by copy, coin, then origin, then destination
        if len(o):  # (the columns as rows, then turned: one call where column_stack takes 8)
            self.flows.append(np.array([
                np.full(len(o), day), k, c, o, d, w.flow_departed[k, c, o, d],
                w.flow_arrived[k, c, o, d], w.flow_hashrate[k, c, o, d]], dtype=float).T)
        w.flow_departed[:] = 0.0
        w.flow_arrived[:] = 0.0
        w.flow_hashrate[:] = 0.0

    def _decisions(self, day: int) -> None:
        w = self.world
        k, c, r, choice = np.nonzero(w.decided)  # by copy, coin, region, then choice
        if len(k):
            self.decisions.append(np.array([np.full(len(k), day), k, c, r, choice,
                                            w.decided[k, c, r, choice]], dtype=float).T)
            w.decided[:] = 0.0

    # ------------------------------------------------------------------ tables

    def tables(self, replicate: int, copy: int = 0, scenario: Scenario | None = None
               ) -> dict[str, pd.DataFrame]:
        """The tables of `replicate`: of the world, or of copy `copy` of a batch world with the
        names of `scenario` (the scenario the batch stacked)."""
        w = self.world
        sc = w.scenario if scenario is None else scenario
        dates = self._dates.get((sc.start, sc.num_days))
        if dates is None:  # (once: the same for every copy)
            dates = self._dates[(sc.start, sc.num_days)] = pd.Index(
                [sc.start + dt.timedelta(days=d) for d in range(sc.num_days)])
        coins = [c.name for c in sc.coins]
        c0, p0, f0 = copy * len(sc.coins), copy * len(sc.pools), copy * len(sc.facilities)
        regions = _tidy(self.regions[:, copy], ["date", "coin", "region"],
                        [dates, coins, [r.name for r in sc.regions]], REGION_FIELDS, replicate)
        regions.insert(4, "aggregate",
                       np.tile(~w.geo.is_leaf[: self.num_r], len(dates) * len(coins)))
        return {
            "network": _tidy(self.network[:, c0:c0 + len(sc.coins)], ["date", "coin"],
                             [dates, coins], NETWORK_FIELDS, replicate),
            "regions": regions,
            "pools": _tidy(self.pools[:, p0:p0 + len(sc.pools)], ["date", "pool"],
                           [dates, [p.name for p in sc.pools]], POOL_FIELDS, replicate,
                           extra={"coin": [p.coin for p in sc.pools]}),
            "facilities": _tidy(self.facilities[:, f0:f0 + len(sc.facilities)],
                                ["date", "facility"], [dates, [f.name for f in sc.facilities]],
                                FACILITY_FIELDS, replicate,
                                extra={"region": [f.region for f in sc.facilities]}),
            "flows": self._flow_table(sc, copy, replicate),
            "decisions": self._decision_table(sc, copy, replicate),
            "events": self._event_table(copy, replicate, batch=scenario is not None),
        }

    def _flow_table(self, sc: Scenario, copy: int, replicate: int) -> pd.DataFrame:
        w = self.world
        cols = ["date", "replicate", "coin", "origin", "destination", *FLOW_FIELDS]
        if self._flows_by_copy is None:  # (once: the rows of every copy, split by copy)
            self._flows_by_copy = _split_by_copy(self.flows, 8, w.copies)
        a = self._flows_by_copy[copy]
        if not len(a):
            return pd.DataFrame({c: pd.Series(dtype=object if c in ("date", "coin", "origin",
                                 "destination") else float) for c in cols})
        names = np.array([r.name for r in sc.regions], dtype=object)
        return pd.DataFrame({
            **self._sparse_keys(sc, a, replicate),
            "origin": names[a[:, 3].astype(int)],
            "destination": names[a[:, 4].astype(int)],
            "rigs_departed": a[:, 5].astype(np.int64),
            "rigs_arrived": a[:, 6].astype(np.int64),
            "hashrate_hs": a[:, 7],
        })

    def _sparse_keys(self, sc: Scenario, a: F64, replicate: int) -> dict[str, Any]:
        """The date, replicate and coin columns of a sparse table's rows (day, copy, coin, …)."""
        coins = np.array([c.name for c in sc.coins], dtype=object)
        return {"date": [self.world.date(d) for d in a[:, 0]], "replicate": replicate,
                "coin": coins[a[:, 2].astype(int)]}

    def _decision_table(self, sc: Scenario, copy: int, replicate: int) -> pd.DataFrame:
        w = self.world
        cols = ["date", "replicate", "coin", "region", "choice", "rigs"]
        if self._decisions_by_copy is None:  # (once: the rows of every copy, split by copy)
            self._decisions_by_copy = _split_by_copy(self.decisions, 6, w.copies)
        a = self._decisions_by_copy[copy]
        if not len(a):
            return pd.DataFrame({c: pd.Series(dtype=np.int64 if c in ("replicate", "rigs")
                                              else object) for c in cols})
        names = np.array([r.name for r in sc.regions], dtype=object)
        return pd.DataFrame({
            **self._sparse_keys(sc, a, replicate),
            "region": names[a[:, 3].astype(int)],
            "choice": np.array(CHOICES, dtype=object)[a[:, 4].astype(int)],
            "rigs": a[:, 5].astype(np.int64),
        })

    def _event_table(self, copy: int, replicate: int, batch: bool) -> pd.DataFrame:
        w = self.world
        if not batch:
            events = sorted(w.events, key=lambda e: e.time_days)
        else:  # a batch world's: the copy's own, named as in the scenario
            if self._events_by_copy is None:
                from sim.batch import copy_of_event, unsuffixed

                self._events_by_copy = {}
                for e in sorted(w.events, key=lambda e: e.time_days):
                    self._events_by_copy.setdefault(copy_of_event(e), []).append(
                        Event(e.time_days, e.kind, unsuffixed(e.actor), unsuffixed(e.region),
                              unsuffixed(e.description)))
            events = self._events_by_copy.get(copy, [])
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
    """A (n1, n2, …, F) array as a long table with one row per key combination: the keys,
    `replicate` after the first, the `extra` columns (one value per last key), the fields."""
    shape = values.shape[:-1]
    n = int(np.prod(shape))
    columns: dict[str, Any] = {}
    for i, (name, label) in enumerate(zip(keys, labels, strict=True)):
        index = label if isinstance(label, pd.Index) else pd.Index(label)
        codes = np.tile(np.repeat(np.arange(len(index)), int(np.prod(shape[i + 1:]))),
                        int(np.prod(shape[:i])))
        columns[name] = index.take(codes)
        if i == 0:
            columns["replicate"] = np.full(n, replicate, dtype=np.int64)
    for name, per_last in reversed(list((extra or {}).items())):
        columns[name] = np.tile(np.asarray(per_last, dtype=object), int(np.prod(shape[:-1])))
    flat = values.reshape(n, values.shape[-1])
    for j, col in enumerate(fields):
        columns[col] = (flat[:, j].round().astype(np.int64)
                        if col.startswith("rigs") or col == "blocks" else flat[:, j].copy())
    return pd.DataFrame(columns)


def _split_by_copy(parts: list[F64], width: int, copies: int) -> list[F64]:
    """The day-by-day rows of a sparse table (day, copy, …) as one array per copy, each in
    the order recorded."""
    a = np.concatenate(parts) if parts else np.zeros((0, width))
    a = a[np.argsort(a[:, 1], kind="stable")]
    bounds = np.searchsorted(a[:, 1], np.arange(copies + 1))
    return [a[lo:hi] for lo, hi in itertools.pairwise(bounds)]
