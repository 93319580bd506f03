"""Checks of where rigs are: the region tree, the initial fleet's power, the route graph."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import networkx as nx

from sim.scenario import MiningBan, PowerCutoff, Scenario
from sim.validation.common import FieldPath, Finding, number


class RegionTree:
    """The region tree: parents, children and descendants by name (first of duplicates)."""

    def __init__(self, scenario: Scenario) -> None:
        self.parent: dict[str, str | None] = {}
        for region in scenario.regions:
            self.parent.setdefault(region.name, region.parent)
        self.children: dict[str, list[str]] = defaultdict(list)
        for name, parent in self.parent.items():
            if parent in self.parent and parent != name:
                self.children[parent].append(name)

    def subtree(self, name: str) -> set[str]:
        """``name`` and every region below it (cycle-safe)."""
        found, todo = {name}, [name]
        while todo:
            for child in self.children.get(todo.pop(), []):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found


def parent_cycles(scenario: Scenario, tree: RegionTree) -> Iterator[Finding]:
    reported: set[frozenset[str]] = set()
    for i, region in enumerate(scenario.regions):
        chain = [region.name]
        while (parent := tree.parent.get(chain[-1])) is not None and parent in tree.parent:
            if parent in chain:
                loop = chain[chain.index(parent) :]
                if region.name in loop and frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    shown = " → ".join([*loop, parent])
                    message = f"the parent chain loops: {shown}; a region cannot contain itself"
                    yield Finding(("regions", i, "parent"), message)
                break
            chain.append(parent)


def rigs_in_parents(scenario: Scenario, tree: RegionTree) -> Iterator[Finding]:
    for section in ("fleet", "purchases", "facilities"):
        for i, item in enumerate(getattr(scenario, section)):
            children = tree.children.get(item.region)
            if children:
                message = (
                    f"region '{item.region}' contains other regions ({', '.join(children)}); "
                    "rigs go in a region without sub-regions: pick one of those"
                )
                yield Finding((section, i, "region"), message)


def over_capacity(scenario: Scenario) -> Iterator[Finding]:
    """Initial fleet power against region capacity, or the facility's first step."""
    power_w = {h.name: h.power_w for h in reversed(scenario.hardware)}
    drawn_mw: dict[tuple[str, str], float] = defaultdict(float)
    rows: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, entry in enumerate(scenario.fleet):
        if entry.hardware in power_w:
            where = ("facility", entry.facility) if entry.facility else ("region", entry.region)
            drawn_mw[where] += entry.rigs * power_w[entry.hardware] / 1e6
            rows[where].append(i)
    limits: list[tuple[tuple[str, str], float | None, FieldPath, str]] = [
        (("region", r.name), r.capacity_mw, ("regions", i, "capacity_mw"), "capacity_mw")
        for i, r in enumerate(scenario.regions)
    ]
    limits += [(("facility", f.name), f.capacity[0].mw, ("facilities", j, "capacity", 0, "mw"),
                "the first capacity step") for j, f in enumerate(scenario.facilities)]  # fmt: skip
    checked: set[tuple[str, str]] = set()
    for where, limit, path, what in limits:
        if limit is None or where in checked or drawn_mw[where] <= limit * (1 + 1e-9):
            continue
        checked.add(where)
        entries = ", ".join(f"fleet.{i}" for i in rows[where])
        message = (
            f"the initial fleet here draws {drawn_mw[where]:.6g} MW ({entries}), more than "
            f"{what} ({number(limit)} MW); raise the capacity or move rigs"
        )
        yield Finding(path, message)


def _route_graph(scenario: Scenario, tree: RegionTree) -> nx.DiGraph:
    """Directed graph of regions; a route from or to a region covers its whole subtree."""
    graph = nx.DiGraph()
    graph.add_nodes_from(tree.parent)
    for route in scenario.routes:
        if route.origin not in tree.parent or route.destination not in tree.parent:
            continue
        for u in tree.subtree(route.origin):
            for v in tree.subtree(route.destination):
                if u != v:
                    graph.add_edge(u, v)
                    if route.bidirectional:
                        graph.add_edge(v, u)
    return graph


def route_findings(scenario: Scenario, tree: RegionTree) -> Iterator[Finding]:
    for i, route in enumerate(scenario.routes):
        if route.origin == route.destination and not tree.children.get(route.origin):
            message = (
                f"the route goes from '{route.origin}' to itself and moves no rig; give a "
                "different destination (a route on a parent region joins its sub-regions)"
            )
            yield Finding(("routes", i, "destination"), message)
    graph = _route_graph(scenario, tree)
    sources = sorted({e.region for e in scenario.fleet if e.region in tree.parent})
    reachable: set[str] = set()
    for source in sources:
        reachable |= nx.descendants(graph, source)
    for k, name in enumerate(scenario.behaviour.destinations or []):
        if name in tree.parent and not tree.subtree(name) & reachable:
            message = (
                f"destination '{name}' cannot be reached from any region holding rigs "
                f"({', '.join(sources)}): add a route to '{name}' (or a parent of it) from one "
                "of them (or a parent)"
            )
            yield Finding(("behaviour", "destinations", k), message)
    stuck: set[str] = set()
    for i, policy in enumerate(scenario.policies):
        if not isinstance(policy, MiningBan | PowerCutoff) or policy.region not in tree.parent:
            continue
        for region in sorted(tree.subtree(policy.region) & set(sources) - stuck):
            if graph.out_degree(region) == 0:
                stuck.add(region)
                message = (
                    f"rigs in '{region}' have nowhere to go: add a route from '{region}' "
                    "(or a parent) to a destination"
                )
                yield Finding(("policies", i, "region"), message)
