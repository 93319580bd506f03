"""Write the JSON Schema of a scenario file to ``schema/scenario.schema.json``.

Run after changing ``sim/scenario.py``; ``tests/test_validation.py`` fails while the committed file
differs from the models. ``--check`` only reports whether the file is up to date (exit 1 if not).

    python scripts/update_schema.py [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schema" / "scenario.schema.json"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the schema file; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from sim.validation import schema_json

    text = schema_json()
    current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else None
    if args.check:
        if current != text:
            stale = SCHEMA_PATH.relative_to(ROOT)
            print(f"{stale} is out of date: run python scripts/update_schema.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
        SCHEMA_PATH.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {SCHEMA_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
