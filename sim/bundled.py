"""The scenarios shipped with hashsim (scenarios/ of a checkout, or its installed copy)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

_HERE = Path(__file__).resolve().parent


def scenario_dir() -> Path:
    """scenarios/ of a source checkout, else the copy installed inside the package."""
    for candidate in (_HERE.parent / "scenarios", _HERE / "_bundled" / "scenarios"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no bundled scenarios found")


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario files by name (file stem), sorted."""
    try:
        folder = scenario_dir()
    except FileNotFoundError:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def bundled_experiments() -> dict[str, Path]:
    """Bundled experiment files (scenarios/experiments/) by name (file stem), sorted."""
    try:
        folder = scenario_dir() / "experiments"
    except FileNotFoundError:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve_experiment(name_or_path: str) -> Path:
    """An experiment file as given, else the bundled experiment of that name (as
    :func:`resolve` finds scenarios: `hashsim sweep tutorial-sweep` works in any folder)."""
    return _resolve(name_or_path, bundled_experiments)


def resolve(name_or_path: str) -> Path:
    """A file as given if there is one (or a name that looks like a path), else the bundled
    scenario of that name, else the name as a path. A folder named like a bundled scenario
    (``hashsim run tutorial -o tutorial`` makes one) does not hide the scenario."""
    return _resolve(name_or_path, bundled_scenarios)


def _resolve(name_or_path: str, bundled: Callable[[], dict[str, Path]]) -> Path:
    path = Path(name_or_path)
    if path.is_file() or path.suffix in (".yaml", ".yml") or "/" in name_or_path:
        return path
    return bundled().get(name_or_path, path)


def describe(path: Path) -> str:
    """The first sentence of a scenario's description (for `hashsim scenarios`)."""
    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        text = " ".join(str(doc.get("description", "")).split())
    except Exception:  # a broken file still gets listed; `validate` says what is wrong
        return "(unreadable: run `hashsim validate` on it)"
    first = text.split(". ")[0].rstrip(".")
    return first[:100] + ("…" if len(first) > 100 else "")
