"""Regenerate docs/scenario-format.md from the scenario models."""

from pathlib import Path

from sim.schema_docs import render

target = Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md"
target.write_text(render())
print(f"wrote {target}")
