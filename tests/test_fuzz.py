"""Fuzzing the loader: valid documents load; broken ones give located issues, never a traceback.

Documents come from :func:`scenario_docs.minimal_doc` with plain hypothesis strategies: values
randomised within their ranges (must load), or keys deleted, renamed and values replaced by junk,
the YAML text cut and spliced, bytes flipped, and random ``--set`` expressions (must load or raise
``ScenarioError`` whose every issue is located).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import string
import tempfile
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scenario_docs import minimal_doc, to_yaml

from sim.errors import Issue, ScenarioError
from sim.scenario import Scenario
from sim.validation import load, loads

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE_TEXT = to_yaml(minimal_doc())
Path = tuple[str | int, ...]


def check_outcome(text: str, overrides: tuple[str, ...] = ()) -> Scenario | list[Issue]:
    """Load; a failure must be a ScenarioError whose every issue is located: return them."""
    try:
        return loads(text, "fuzz.yaml", overrides)
    except ScenarioError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert "internal error" not in issue.message, str(issue)
            if issue.file == "fuzz.yaml":
                assert issue.line is not None and issue.line >= 1, str(issue)
                assert issue.col is not None and issue.col >= 1, str(issue)
            else:
                assert issue.file is not None and issue.file.startswith("--set"), str(issue)
        return exc.issues


# ---------------------------------------------------------------------------- valid documents

names = st.text(string.ascii_letters + string.digits + "_-. éü中", min_size=1, max_size=16).filter(
    lambda s: s == s.strip()
)


def rename(doc: Any, old: str, new: str) -> Any:
    """Replace the string ``old`` everywhere, mapping keys included."""
    if isinstance(doc, dict):
        return {(new if k == old else k): rename(v, old, new) for k, v in doc.items()}
    if isinstance(doc, list):
        return [rename(v, old, new) for v in doc]
    return new if doc == old else doc


@st.composite
def valid_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc = minimal_doc()
    doc["end"] = dt.date(2021, 12, 31) + dt.timedelta(days=draw(st.integers(0, 3000)))
    coin = doc["coins"][0]
    coin["subsidy_coins"] = draw(st.floats(1e-3, 100))
    for point in coin["price"]["points"]:
        point["usd"] = draw(st.floats(1e-3, 1e6))
    for region in doc["regions"]:
        region["electricity_usd_per_kwh"] = draw(st.floats(0, 1))
        region["carbon_g_per_kwh"] = draw(st.floats(0, 2000))
    doc["regions"][1]["capacity_mw"] = draw(st.none() | st.floats(65, 1e4))
    doc["fleet"][0]["rigs"] = draw(st.integers(1, 20000))
    doc["fleet"][1]["rigs"] = draw(st.integers(1, 10**6))
    doc["fleet"][2]["rigs"] = draw(st.integers(1, 900))
    doc["pools"][0]["fee"] = draw(st.floats(0, 1))
    doc["policies"][1]["hazard_per_day"] = draw(st.floats(0, 10))
    doc["behaviour"]["horizon_days"] = draw(st.floats(1e-3, 1e4))
    if draw(st.booleans()):
        del doc["policies"][0]  # the announcement
    taken = {"china", "sichuan", "xinjiang", "usa", "georgia", "f2pool", "foundry"}
    for old in sorted(taken):
        new = draw(names.filter(lambda s: s not in taken))
        taken.add(new)
        doc = rename(doc, old, new)
    return doc


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_docs())
def test_valid_documents_load(doc: dict[str, Any]) -> None:
    scenario = loads(to_yaml(doc))
    assert scenario.fleet[1].rigs == doc["fleet"][1]["rigs"]
    assert scenario.regions[1].name == doc["regions"][1]["name"]
    assert scenario.end == doc["end"]


# ---------------------------------------------------------------------------- broken documents


def all_paths(doc: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every node below the root, parents before children."""
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    )
    for key, value in items:
        yield (*prefix, key)
        yield from all_paths(value, (*prefix, key))


PATHS = sorted(all_paths(minimal_doc()), key=str)

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.dates()
    | st.datetimes(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
mutations = st.tuples(
    st.sampled_from(["delete", "rename", "replace"]),
    st.sampled_from(PATHS),
    st.text(max_size=12),
    junk,
)


def child(parent: Any, step: str | int) -> Any:
    """``parent[step]``, or None where an earlier mutation removed that part."""
    if isinstance(parent, dict):
        return parent.get(step)
    if isinstance(parent, list) and isinstance(step, int) and step < len(parent):
        return parent[step]
    return None


def mutate(doc: Any, how: str, path: Path, new_key: str, value: Any) -> None:
    """Delete, rename (mapping keys only) or replace the node at ``path``, if it still exists."""
    parent = doc
    for step in path[:-1]:
        parent = child(parent, step)
    last = path[-1]
    if isinstance(parent, dict) and last in parent:
        if how == "delete":
            del parent[last]
        elif how == "rename":
            parent[new_key] = parent.pop(last)
        else:
            parent[last] = value
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        if how == "delete":
            del parent[last]
        else:
            parent[last] = value


@FAST
@given(st.lists(mutations, min_size=1, max_size=4))
def test_mutated_documents_fail_cleanly(changes: list[tuple[str, Path, str, Any]]) -> None:
    doc = copy.deepcopy(minimal_doc())
    for how, path, new_key, value in changes:
        mutate(doc, how, path, new_key, value)
    check_outcome(to_yaml(doc))


@FAST
@given(st.sampled_from(PATHS), junk)
def test_one_junk_value_is_reported_near_where_it_is(path: Path, value: Any) -> None:
    doc = minimal_doc()
    mutate(doc, "replace", path, "", value)
    issues = check_outcome(to_yaml(doc))
    if isinstance(issues, Scenario):
        return
    try:
        Scenario.model_validate(doc)
    except ValidationError:
        # the models refuse it: some issue lies in the mapping or list that holds the junk
        assert any(i.path[: len(path) - 1] == path[:-1] for i in issues), [str(i) for i in issues]


# ---------------------------------------------------------------------------- broken text


@st.composite
def spliced_texts(draw: st.DrawFn) -> str:
    text = BASE_TEXT
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 40)))
        insert = draw(
            st.text(max_size=20)
            | st.sampled_from(["\n", ": ", "- ", "[", "{", "&a ", "*a", "!!", "\t", "'", '"', "#"])
        )
        text = text[:start] + insert + text[end:]
    return text


@FAST
@given(spliced_texts())
def test_spliced_text_fails_cleanly(text: str) -> None:
    check_outcome(text)


@FAST
@given(st.text(max_size=200))
def test_random_text_fails_cleanly(text: str) -> None:
    check_outcome(text)


@settings(max_examples=100, deadline=None)
@given(
    st.binary(max_size=200)
    | st.builds(
        lambda i, b: BASE_TEXT.encode()[:i] + b + BASE_TEXT.encode()[i + 1 :],
        st.integers(0, len(BASE_TEXT)),
        st.binary(min_size=1, max_size=3),
    )
)
def test_random_bytes_fail_cleanly(data: bytes) -> None:
    handle, name = tempfile.mkstemp(suffix=".yaml")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        try:
            load(name)
        except ScenarioError as exc:
            assert exc.issues and all(i.file == name for i in exc.issues)
            assert all(i.line is not None for i in exc.issues)
            assert not any("internal error" in i.message for i in exc.issues)
    finally:
        os.unlink(name)


# ---------------------------------------------------------------------------- --set

dotted = st.sampled_from([".".join(map(str, p)) for p in PATHS]) | st.text(max_size=20)
values = st.text(max_size=20) | st.sampled_from(
    ["null", "[1, 2]", "{a: 1}", "2021-06-20", "-5", "1e400", "!!python/object:x {}"]
)


@FAST
@given(st.lists(st.tuples(dotted, st.sampled_from(["=", "", "=="]), values), max_size=3))
def test_random_overrides_fail_cleanly(parts: list[tuple[str, str, str]]) -> None:
    check_outcome(BASE_TEXT, tuple(p + eq + v for p, eq, v in parts))


@FAST
@given(
    st.floats(1e-6, 1e6),
    st.floats(0, 1),
    st.integers(1, 20000),
    st.dates(dt.date(2021, 7, 1), dt.date(2030, 1, 1)),  # the purchase starts 2021-07-01
)
def test_valid_overrides_set_the_value(horizon: float, fee: float, rigs: int, end: dt.date) -> None:
    scenario = loads(
        BASE_TEXT,
        overrides=(
            f"behaviour.horizon_days={horizon!r}",
            f"pools.f2pool.fee={fee!r}",
            f"fleet.0.rigs={rigs}",
            f"end={end.isoformat()}",
        ),
    )
    assert scenario.behaviour.horizon_days == horizon
    assert scenario.pools[0].fee == fee
    assert scenario.fleet[0].rigs == rigs
    assert scenario.end == end


# ---------------------------------------------------------------------------- valid documents run


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_docs(), st.integers(0, 2**32 - 1))
def test_valid_documents_run(doc: dict[str, Any], seed: int) -> None:
    """A valid document runs to the end, whatever its values, and conserves rigs."""
    from sim.results import run

    res = run(loads(to_yaml(doc), overrides=("end=2022-03-31",)), seed=seed)
    regions = res.tables["regions"]
    leaves = regions[~regions["aggregate"]]
    rigs = leaves.filter(like="rigs_").sum(axis=1).groupby(leaves["date"]).sum()
    assert rigs.iloc[0] == sum(f["rigs"] for f in doc["fleet"])
    assert (rigs.diff().dropna() >= 0).all()  # only purchases and orders add rigs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutations, min_size=1, max_size=2))
def test_mutated_documents_that_load_also_run(changes: list[tuple[str, Path, str, Any]]) -> None:
    from sim.results import run

    doc = copy.deepcopy(minimal_doc())
    for how, path, new_key, value in changes:
        mutate(doc, how, path, new_key, value)
    outcome = check_outcome(to_yaml(doc), ("end=2022-03-31",))
    if isinstance(outcome, Scenario):
        run(outcome, seed=0)
