"""House rule: every figure in a bundled scenario or experiment names its source.

Every number (int or float; booleans, nulls, dates and strings are not figures) in
``scenarios/*.yaml`` and ``scenarios/experiments/*.yaml`` must have a source named near it: a
public report, a dataset (``ref/<file>``, ``../shared/data``), a row of the shared point figures
("pts: topic"), a news article ("seeds/NNN"), or "assumption: why". The files are read with
ruamel.yaml in round-trip mode for the positions of the values; comments are read from the text.
A number counts as sourced when one of these holds (the conventions the files use; see
docs/scenarios.md):

A. its own line carries a comment (``risk: 0.2  # assumption: ...``);
B. a comment block sits directly above its entry (the line of its key, or of its list item);
   "directly": comment-only lines up to the entry, no blank line between;
C. it lies in a *table* - a list of one-line (flow-style) rows, or a flow-style list or mapping
   (prices, fees, capacity steps, fleet rows, observed series, monthly prices) - and the table
   has a heading: the nearest comment block above its row inside the table (a sub-heading
   such as wuhan-general-2018's "# 2019: blockchain.com close on each Monday"), or else a
   comment on the table's key line or directly above it (docs/scenarios.md: "long tables ...
   carry one comment for the block");
D. a comment on, or directly above, the key (or list item) of an enclosing block writes this
   very number, spelt with three characters or more (``800``, ``1,500``, ``0.3``; "2" or
   "19" turn up in any note by chance): a block note that states or derives the figure, such
   as sparkpool-2021's "mainland miners bought 800 a day" above ``purchases:``;
E. a covering note - on or directly above an enclosing block's key, or in the file's opening
   comment - says in one sentence that every value there is an assumption: "every" or "each",
   at most eight words without "or", then "an assumption" ("every one an assumption", "Every
   figure here is an assumption", "every median and sigma below is an assumption"). A promise
   such as "every number carries a comment naming its source, or assumption" is not one;
F. its own mapping has a ``source`` key (the rows of ``observed.checks``).

Exempt by name (not figures): ``seed``, ``replicates`` and ``levels`` (a run's random seed,
the number of replicates and of grid levels of an experiment). Values reached through a YAML
alias (``pool: *cn``) are checked once, where the anchor defines them.

The rule is mechanical: it checks that a source is named near every number, not that the
source is right. On failure it prints ``file:line: path = value`` for each unsourced number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
EXPERIMENTS = sorted((ROOT / "scenarios" / "experiments").glob("*.yaml"))
EXEMPT_KEYS = frozenset({"seed", "replicates", "levels"})

_COVERING = re.compile(r"\b(?:every|each)\b(?:\s+(?!or\b)[\w,]+){0,8}?\s+an\s+assumption\b",
                       re.IGNORECASE)


# ------------------------------------------------------------------------------ text and comments


def _comment(line: str) -> str:
    """The comment on a line: text after a ``#`` that is outside quotes and starts a token."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and (i == 0 or not line[i - 1].isalnum()):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[i + 1:].strip()
    return ""


class _Text:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.comments = [_comment(line) for line in self.lines]

    def is_comment_only(self, i: int) -> bool:
        return 0 <= i < len(self.lines) and self.lines[i].lstrip().startswith("#")

    def block_above(self, i: int) -> list[str]:
        """The comment-only lines directly above line ``i`` (0-based), top first."""
        out: list[str] = []
        j = i - 1
        while self.is_comment_only(j):
            out.append(self.comments[j])
            j -= 1
        return out[::-1]

    def at(self, i: int) -> list[str]:
        """The comments of line ``i`` and of the block directly above it."""
        return [*self.block_above(i), self.comments[i]]

    def header(self) -> list[str]:
        """The file's opening comment: comment-only lines before the first content line."""
        out = []
        for i, line in enumerate(self.lines):
            if self.is_comment_only(i):
                out.append(self.comments[i])
            elif line.strip():
                break
        return out


def _joined(comments: list[str]) -> str:
    return " ".join(c for c in comments if c)


def _covers(comments: list[str]) -> bool:
    return bool(_COVERING.search(_joined(comments)))


def _spellings(value: float) -> list[str]:
    """How a comment may write ``value``: 1500 → "1500", "1,500"; 0.05 → "0.05".

    Only spellings of three characters or more: "2" or "19" turn up in any note by chance.
    """
    out = {repr(value), f"{value:g}"}
    if float(value).is_integer():
        n = int(value)
        out |= {str(n), f"{n:,}"}
    return [s for s in out if "e" not in s and len(s) >= 3]


def _states(comments: list[str], value: float) -> bool:
    text = _joined(comments)
    return any(re.search(rf"(?<![\d.,]){re.escape(s)}(?![\d]|[.,]\d)", text)
               for s in _spellings(value))


# ------------------------------------------------------------------------------ the walk


@dataclass(frozen=True)
class _Enclosing:
    """A collection that holds the value, with the line of its key or list item (0-based)."""

    node: Any
    anchor: int
    path: str


@dataclass(frozen=True)
class Finding:
    line: int  # 1-based
    path: str
    value: float
    rule: str  # the rule (A-F) that found its source, "" where none did

    @property
    def sourced(self) -> bool:
        return bool(self.rule)


def _is_flow(node: Any) -> bool:
    return isinstance(node, (CommentedMap, CommentedSeq)) and bool(node.fa.flow_style())


def _is_table(node: Any) -> bool:
    if _is_flow(node):
        return True
    return isinstance(node, CommentedSeq) and len(node) > 0 and all(
        _is_flow(item) or not isinstance(item, (CommentedMap, CommentedSeq)) for item in node)


def _label(seq: CommentedSeq, i: int) -> str:
    item = seq[i]
    if isinstance(item, CommentedMap):
        for key in ("name", "id"):
            if isinstance(item.get(key), str):
                return f"[{item[key]}]"
    return f"[{i}]"


def _table_heading(text: _Text, table: _Enclosing, row_line: int) -> list[str]:
    """The nearest comment block above the row inside the table, else the table's own comment."""
    j = row_line - 1
    while j > table.anchor:
        if text.is_comment_only(j):
            block = [text.comments[j]]
            k = j - 1
            while k > table.anchor and text.is_comment_only(k):
                block.append(text.comments[k])
                k -= 1
            return block[::-1]
        j -= 1
    return text.at(table.anchor)


def _sourced(text: _Text, value: float, line: int, entry: int, mapping: Any,
             outer: list[_Enclosing], header: list[str]) -> str:
    """The first rule that finds a source for the value, or ""."""
    if text.comments[line] or text.comments[entry]:
        return "A"
    if text.block_above(entry):
        return "B"
    if isinstance(mapping, CommentedMap) and "source" in mapping:
        return "F"
    for k in range(len(outer) - 1, -1, -1):  # innermost first
        enc = outer[k]
        if _is_table(enc.node):
            row = outer[k + 1].anchor if k + 1 < len(outer) else entry
            if _joined(_table_heading(text, enc, row)):
                return "C"
        near = text.at(enc.anchor)
        if _states(near, value):
            return "D"
        if _covers(near):
            return "E"
    return "E" if _covers(header) else ""


def audit(path: Path) -> list[Finding]:
    """Every number of one scenario or experiment file, and whether a source is named for it."""
    raw = path.read_text(encoding="utf-8")
    text = _Text(raw)
    header = text.header()
    doc = YAML(typ="rt").load(raw)
    findings: list[Finding] = []
    seen: set[int] = set()

    def visit(node: Any, outer: list[_Enclosing]) -> None:
        if id(node) in seen:  # an alias: checked where the anchor defines it
            return
        seen.add(id(node))
        if isinstance(node, CommentedMap):
            items = [(str(k), v, node.lc.value(k)[0], node.lc.key(k)[0]) for k, v in node.items()]
            sep = "." if outer else ""
        else:
            items = [(_label(node, i), v, node.lc.item(i)[0], node.lc.item(i)[0])
                     for i, v in enumerate(node)]
            sep = ""
        base = outer[-1].path if outer else ""
        for key, value, line, entry in items:
            path_here = f"{base}{sep}{key}"
            if isinstance(value, (CommentedMap, CommentedSeq)):
                visit(value, [*outer, _Enclosing(value, entry, path_here)])
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                if isinstance(node, CommentedMap) and key in EXEMPT_KEYS:
                    continue
                rule = _sourced(text, float(value), line, entry, node, outer, header)
                findings.append(Finding(line + 1, path_here, value, rule))

    visit(doc, [])
    return findings


# ------------------------------------------------------------------------------ the tests


@pytest.mark.parametrize("path", [*SCENARIOS, *EXPERIMENTS],
                         ids=lambda p: str(p.relative_to(ROOT / "scenarios")))
def test_every_figure_names_its_source(path: Path) -> None:
    findings = audit(path)
    if path in SCENARIOS:
        assert findings, "no numbers found: the walk is broken"
    rel = path.relative_to(ROOT)
    bad = [f"{rel}:{f.line}: {f.path} = {f.value}" for f in findings if not f.sourced]
    for line in bad:
        print(line)
    assert not bad, f"{len(bad)} of {len(findings)} numbers name no source:\n" + "\n".join(bad)


def test_the_bundled_files_are_all_checked() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {"tutorial", "china-2021", "no-ban-2021", "iran-2021", "sparkpool-2021",
            "wuhan-general-2018"} <= names
    assert EXPERIMENTS


def _audit_text(tmp_path: Path, body: str) -> dict[str, bool]:
    path = tmp_path / "s.yaml"
    path.write_text(body, encoding="utf-8")
    return {f.path: f.sourced for f in audit(path)}


def test_the_rule_flags_what_has_no_source(tmp_path: Path) -> None:
    body = """\
# Conventions: every number carries a comment naming its source, or "assumption:".
seed: 7
regions:
  # region notes: prices are CBECI's default
  - name: a
    electricity_usd_per_kwh: 0.05  # pts: cbeci
    risk: 0.2
    capacity_mw: 800
  - name: b
    # assumption: as a
    risk: 0.2
behaviour:
  horizon_days: 180
"""
    got = _audit_text(tmp_path, body)
    assert "seed" not in got  # exempt
    assert got["regions[a].electricity_usd_per_kwh"]  # A
    assert not got["regions[a].risk"]  # the regions' note is neither a table heading nor covers
    assert not got["regions[a].capacity_mw"]
    assert got["regions[b].risk"]  # B
    assert not got["behaviour.horizon_days"]  # the header's promise is not a source


def test_the_rule_accepts_tables_notes_and_sources(tmp_path: Path) -> None:
    body = """\
regions:
  - name: a
    # pts: capacity, 500 -> 1,500 MW
    capacity_schedule:
      - {date: 2021-05-01, mw: 944}
      - {date: 2021-06-01, mw: 1056}
    monthly:
      [0.045, 0.045,
       0.040]
# Assumption: 800 rigs a day before the notices.
purchases:
  - region: a
    start: 2021-09-01
    rigs_per_day: 800
  - region: a
    rigs_per_day: 900
# A model choice: plausible values, every one an assumption.
behaviour:
  horizon_days: 180
  constants: {relocate: 0.0}
observed:
  checks:
    - {id: x, value: 1.5e+20, low: 1.0e+20, source: "blockchain.com"}
"""
    got = _audit_text(tmp_path, body)
    assert got["regions[a].capacity_schedule[0].mw"]  # C, heading above the key
    assert got["regions[a].capacity_schedule[1].mw"]
    assert not got["regions[a].monthly[2]"]  # C needs a heading: none here
    assert got["purchases[0].rigs_per_day"]  # D: the note states 800
    assert not got["purchases[1].rigs_per_day"]  # ... but not 900
    assert got["behaviour.horizon_days"] and got["behaviour.constants.relocate"]  # E
    assert got["observed.checks[x].value"] and got["observed.checks[x].low"]  # F
