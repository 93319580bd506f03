"""Regenerate docs/scenario-format.md from the scenario models."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's models, not an installed copy's

from sim.schema_docs import render  # noqa: E402

target = ROOT / "docs" / "scenario-format.md"
target.write_text(render())
print(f"wrote {target}")
