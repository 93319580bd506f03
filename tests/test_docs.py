"""Generated documentation stays in step with the models."""

from __future__ import annotations

from pathlib import Path

from sim.schema_docs import render

ROOT = Path(__file__).resolve().parents[1]


def test_scenario_format_page_is_current() -> None:
    page = (ROOT / "docs" / "scenario-format.md").read_text()
    assert page == render(), "run: python scripts/update_docs.py"


def test_docs_name_every_policy_kind() -> None:
    model = (ROOT / "docs" / "model.md").read_text()
    for kind in ("announcement", "mining_ban", "power_cutoff", "power_outage", "pool_service_ban",
                 "exchange_ban", "incentive", "lift"):
        assert f"`{kind}`" in model
