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
    ("price: table", s.TablePrice), ("price: gbm", s.GbmPrice), ("regions[]", s.Region),
    ("capacity steps", s.CapacityStep), ("routes[]", s.Route),
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
    parts = []
    for meta in field.metadata:
        for key, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(meta, key, None)
            if value is not None:
                parts.append(f"{sym} {value}")
    return ", ".join(parts)


def render() -> str:
    lines = ["# Scenario file format", "",
             "Generated from `sim/scenario.py` by `python scripts/update_docs.py`; do not edit.",
             "Every quantity carries its unit in its name; fractions are between 0 and 1. A",
             "`kind`, `distribution` or `rule` field selects the variant of a section. The JSON",
             "Schema (`hashsim schema`, `schema/scenario.schema.json`) says the same for editors.",
             ""]
    for title, model in SECTIONS:
        lines += [f"## {title}", ""]
        doc = (model.__doc__ or "").strip().splitlines()
        if doc:
            lines += [doc[0], ""]
        lines += ["| field | type | default | constraint | meaning |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | "
                         f"{_constraints(field)} | {desc} |")
        lines.append("")
    return "\n".join(lines)
