"""docs/scenario-format.md, generated from the scenario models (one declaration of each field).

Regenerate with ``python scripts/update_docs.py``; a test fails when the page drifts.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from sim import scenario as s

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("Scenario (top level)", s.Scenario), ("coins[]", s.Coin), ("fee steps", s.FeeStep),
    ("price: constant", s.ConstantPrice),
    ("price: table", s.TablePrice), ("price table points[]", s.PricePoint),
    ("price: gbm", s.GbmPrice), ("regions[]", s.Region),
    ("electricity price steps", s.PriceStep), ("capacity steps", s.CapacityStep),
    ("routes[]", s.Route),
    ("transit: fixed", s.FixedTransit), ("transit: uniform", s.UniformTransit),
    ("transit: lognormal", s.LognormalTransit), ("transit: gamma", s.GammaTransit),
    ("transit: triangular", s.TriangularTransit), ("hardware[]", s.Hardware),
    ("fleet[]", s.FleetEntry), ("purchases[]", s.Purchase), ("pools[]", s.Pool),
    ("pool events: stop_new_users", s.PoolStopNewUsers),
    ("pool events: stop_service", s.PoolStopService), ("pool events: shutdown", s.PoolShutdown),
    ("facilities[]", s.Facility), ("facility orders[]", s.Order), ("services[]", s.Service),
    ("policies: announcement", s.Announcement), ("policies: mining_ban", s.MiningBan),
    ("policies: power_cutoff", s.PowerCutoff), ("policies: power_outage", s.PowerOutage),
    ("policies: pool_service_ban", s.PoolServiceBan),
    ("policies: exchange_ban", s.ExchangeBan), ("policies: incentive", s.Incentive),
    ("policies: lift", s.Lift), ("behaviour", s.Behaviour),
    ("behaviour.constants", s.OptionConstants), ("behaviour.pool_choice", s.PoolChoice),
    ("observed", s.Observed), ("observed.hashrate[]", s.ObservedHashrate),
    ("observed.events[]", s.ObservedEvent), ("checks: hashrate", s.HashrateCheck),
    ("checks: trough", s.TroughCheck), ("checks: difficulty_adjustment", s.AdjustmentCheck),
    ("checks: epoch_block_time", s.BlockTimeCheck), ("checks: recovery", s.RecoveryCheck),
    ("checks: region_share / pool_share", s.ShareCheck),
    ("checks: hashrate_change", s.ChangeCheck),
]


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _type_name(get_args(tp)[0])
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return f"mapping {_type_name(get_args(tp)[0])} → {_type_name(get_args(tp)[1])}"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp)).replace("Model", "")


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
        return "`[]`" if value == [] else "(defaults below)"
    if field.default is PydanticUndefined:
        return ""
    return f"`{'null' if field.default is None else field.default}`"


def _constraints(field: Any) -> str:
    """Bounds and list lengths of a field, also where they sit inside an optional type
    (``PosFloat | None``), a list's items or a mapping's values."""
    parts = _bounds(field.metadata) + _inner_bounds(field.annotation)
    if _is_list(field.annotation):  # (a name's length is said once, in the page's header)
        parts = _lengths(field.metadata) + parts
    return ", ".join(parts)


def _bounds(metadata: list[Any]) -> list[str]:
    parts = []
    for meta in metadata:
        for key, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(meta, key, None)
            if value is not None:
                parts.append(f"{sym} {value}")
    return parts


def _lengths(metadata: list[Any]) -> list[str]:
    low = next((m.min_length for m in metadata if getattr(m, "min_length", None)), None)
    high = next((m.max_length for m in metadata if getattr(m, "max_length", None)), None)
    if low is not None and low == high:
        return [f"exactly {low} items"]
    return ([f"at least {low} item{'s' if low > 1 else ''}"] if low else []) + (
        [f"at most {high} items"] if high else [])


def _is_list(tp: Any) -> bool:
    if get_origin(tp) in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in get_args(tp))
    return get_origin(tp) is list


def _annotated_bounds(tp: Any) -> list[str]:
    """Bounds declared on a number type such as ``PosFloat`` (empty for other types)."""
    if get_origin(tp) is not typing.Annotated:
        return []
    base, *extras = get_args(tp)
    if base not in (int, float):
        return []
    return _bounds([m for extra in extras for m in getattr(extra, "metadata", [extra])])


def _inner_bounds(tp: Any) -> list[str]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return [b for arg in get_args(tp) if arg is not type(None) for b in _inner_bounds(arg)]
    if origin is list:
        return [f"each {b}" for b in _annotated_bounds(get_args(tp)[0])]
    if origin is dict:
        return [f"weights {b}" for b in _annotated_bounds(get_args(tp)[1])]
    return _annotated_bounds(tp)


def render() -> str:
    lines = ["# Scenario file format", "",
             "Generated from `sim/scenario.py` by `python scripts/update_docs.py`; do not edit.",
             "Every quantity carries its unit in its name; fractions are between 0 and 1. A",
             "`kind`, `distribution` or `rule` field selects the variant of a section. The JSON",
             "Schema (`hashsim schema`, `schema/scenario.schema.json`) says the same for editors.",
             "Names (and the fields that refer to them) are 1 to 64 characters, without tabs or",
             "line breaks. The lists of regions or pools where null means all of them (a pool's",
             "`regions`, a pool event's `regions`, a pool_service_ban's `pools`) may not be empty.",
             ""]
    for title, model in SECTIONS:
        lines += [f"## {title}", ""]
        doc = (model.__doc__ or "").strip().split("\n\n")[0]  # the first paragraph
        if doc:
            lines += [" ".join(line.strip() for line in doc.splitlines()), ""]
        lines += ["| field | type | default | constraint | meaning |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | "
                         f"{_constraints(field)} | {desc} |")
        lines.append("")
    return "\n".join(lines)
