"""House rule: every figure in a bundled scenario or experiment names its source.

Every number in ``scenarios/*.yaml`` and ``scenarios/experiments/*.yaml`` must have a source
named near it. A number is an int or a float, or a string that reads as one (``risk: "0.9"``:
the model reads it as 0.9); booleans, nulls, dates and other strings are not figures. The files
are read with ruamel.yaml in round-trip mode for the positions of the values; comments are read
from the text.

A comment *names a source* when it carries a marker of the conventions the files use (see
docs/scenarios.md and each file's opening comment): "assumption" (or "assumed"), "calibrate:" or
"calibrated", "derived", "protocol", "schema default", a point figure ("pts: topic"), a derived
table or the shared data (``ref/<file>``, ``../shared/data``, ``SOURCES.md``), a news article
("seeds/NNN"), a web address or domain (``coindesk.com``), a publisher the files cite by name
(CBECI, F2Pool's list, CoinDesk, Glassnode, Cointelegraph, the WSJ, IPCC), or "as <x>" opening
the comment or following "(" or ";" (the same source or assumption as <x>: "as china-2021",
"as texas"). A note that only restates or explains the figure ("# 14 TH/s", "# per day at
full strength") names none.

A number counts as sourced when one of these holds:

A. a comment on its own line (or on the line of its key) names a source
   (``risk: 0.2  # assumption: ...``);
B. a comment block sits directly above its entry (the line of its key, or of its list item)
   and names a source; "directly": comment-only lines up to the entry, no blank line between;
C. it lies in a *table* - a list of one-line (flow-style) rows, or a flow-style list or mapping
   (prices, fees, capacity steps, fleet rows, observed series, monthly prices) - and the table
   has a heading that names a source: the nearest comment block above its row inside the
   table (a sub-heading such as wuhan-general-2018's "# 2019: blockchain.com close on each
   Monday"), or else a comment on the table's key line or directly above it
   (docs/scenarios.md: "long tables ... carry one comment for the block");
D. the note of the innermost enclosing block - the comment on, or directly above, the key or
   list item that holds the number - names a source and writes this very number, spelt with
   three characters or more (``800``, ``1,500``, ``0.3``; "2" or "19" turn up in any note by
   chance): a note that states or derives the figures of its block, such as china-2021's
   Sichuan note ("Used (assumption): wet 0.025 ...") above its monthly prices. A number stated
   in a note further out does not count: that note is about its own block (the regions' list
   of carbon factors, "coal 820, gas 490", sources no region's ``carbon_g_per_kwh``);
E. a covering note - on or directly above an enclosing block's key - says in one sentence that
   every value it names is an assumption, and names what it covers: "every" or "each", at most
   eight words (the subject), then "an assumption", where a word of the subject is a word of
   the number's key or of a key between the note and the number ("every median and sigma below
   is an assumption" covers ``transit.median_days`` and ``transit.sigma``, not
   ``cost_usd_per_rig``). In the file's opening comment a subject of "figure", "number" or
   "value" covers the whole file (tutorial.yaml: "Every figure here is an assumption"). Not a
   covering note: one after "not" ("Not every value here is an assumption"), one with "not",
   "no", "never", "nor" or "or" in its subject ("every number carries a comment naming its
   source, or assumption"), or one followed by "except" or "but" ("every value an assumption,
   except the underground and sell constants");
F. its own mapping has a ``source`` key (the rows of ``observed.checks``).

Exempt (not figures): the top-level ``seed`` and ``replicates`` (a run's random seed, an
experiment's number of replicates) and an experiment's grid sizes ``parameters.<name>.levels``
and ``design.levels``; the same names elsewhere are checked. Values reached through a YAML alias
(``pool: *cn``) are checked once, where the anchor defines them.

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
#: Bundled files with no figure to check, on purpose: an experiment whose only numbers are its
#: seed and its number of replicates (both exempt).
WITHOUT_FIGURES = frozenset({"experiments/china-2021-arms.yaml",
                             "experiments/iran-2021-arms.yaml"})

#: The markers of a named source (see the module's docstring).
_SOURCE = re.compile(
    r"\bassum|\bcalibrat|\bderived\b|\bprotocol\b|\bschema default\b|\bpts\b"
    r"|\bref/|\bsim/reference/|\.\./shared/|\bSOURCES\.md\b|\bseeds/\d"
    r"|https?://|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|info|site|news|co|uk|cn|gov|edu)\b"
    r"|\b(?:CBECI|F2Pool list|CoinDesk|Glassnode|Cointelegraph|WSJ|IPCC)\b"
    r"|(?:^|[(;]\s*)as\s+[\w'-]+",
    re.IGNORECASE)

_COVERING = re.compile(
    r"(?<!\bnot\s)\b(?:every|each)\s+"
    r"(?P<subject>(?:(?!(?:or|not|no|never|nor)\b)[\w,'-]+\s+){0,8}?)"
    r"an\s+assumption\b(?!\s*[,;:]?\s*(?:except|but)\b)",
    re.IGNORECASE)
#: Words of a covering note's subject that name no field.
_FILLER = frozenset({"and", "the", "here", "below", "above", "there", "this", "these", "its",
                     "is", "are", "one", "of", "in", "a"})
#: A subject that names every figure: allowed in the file's opening comment only.
_EVERYTHING = frozenset({"figure", "number", "value"})
#: Words of a key that are units, not the field's name.
_UNITS = frozenset({"usd", "per", "kwh", "mw", "w", "hs", "s", "g", "day", "coin"})
#: A string the model reads as a number.
_NUMERIC = re.compile(r"[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


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
    return " ".join(" ".join(comments).split())


def _names_source(comments: list[str]) -> bool:
    return any(_SOURCE.search(c) for c in comments if c)


def _words(text: str) -> set[str]:
    """Lower-case words of ``text``, a plural's ``s`` dropped (``sigmas`` → ``sigma``)."""
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w
            for w in re.findall(r"[a-z]+", text.lower())}


def _covers(comments: list[str], keys: list[str], whole_file: bool = False) -> bool:
    """Whether a covering note in ``comments`` names a field among ``keys`` (the number's key
    and the keys between the note and it), or, in the file's opening comment
    (``whole_file``), every figure."""
    fields = set().union(*(_words(k) for k in keys)) - _UNITS
    for match in _COVERING.finditer(_joined(comments)):
        subject = _words(match["subject"]) - _FILLER
        if subject & fields or (whole_file and subject & _EVERYTHING):
            return True
    return False


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


def _number(value: Any) -> float | None:
    """``value`` as a figure: an int or float, or a string that reads as one; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMERIC.fullmatch(value.strip()):
        return float(value.strip().replace("_", ""))
    return None


def _exempt(keys: tuple[str | None, ...]) -> bool:
    """A run's seed, an experiment's replicates and grid sizes: counts, not figures."""
    return keys in (("seed",), ("replicates",), ("design", "levels")) or (
        len(keys) == 3 and keys[0] == "parameters" and keys[2] == "levels")


# ------------------------------------------------------------------------------ the walk


@dataclass(frozen=True)
class _Enclosing:
    """A collection that holds the value, with the line of its key or list item (0-based) and
    its key (None for a list item)."""

    node: Any
    anchor: int
    path: str
    key: str | None


@dataclass(frozen=True)
class Finding:
    line: int  # 1-based
    path: str
    value: float
    rule: str  # the rule (A-F) that found its source, "" where none did
    quoted: bool = False  # a string that reads as a number

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


def _sourced(text: _Text, value: float, line: int, entry: int, key: str | None, mapping: Any,
             outer: list[_Enclosing], header: list[str]) -> str:
    """The first rule that finds a source for the value, or ""."""
    if _names_source([text.comments[line], text.comments[entry]]):
        return "A"
    if _names_source(text.block_above(entry)):
        return "B"
    if isinstance(mapping, CommentedMap) and "source" in mapping:
        return "F"
    note = text.at(outer[-1].anchor) if outer else []
    if _names_source(note) and _states(note, value):
        return "D"
    keys = [] if key is None else [key]
    for k in range(len(outer) - 1, -1, -1):  # innermost first
        enc = outer[k]
        if _is_table(enc.node):
            row = outer[k + 1].anchor if k + 1 < len(outer) else entry
            if _names_source(_table_heading(text, enc, row)):
                return "C"
        if _covers(text.at(enc.anchor), keys):
            return "E"
        if enc.key is not None:
            keys = [enc.key, *keys]
    return "E" if _covers(header, keys, whole_file=True) else ""


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
        items: list[tuple[str, str | None, Any, int, int]]
        if isinstance(node, CommentedMap):
            items = [(str(k), str(k), v, node.lc.value(k)[0], node.lc.key(k)[0])
                     for k, v in node.items()]
            sep = "." if outer else ""
        else:
            items = [(_label(node, i), None, v, node.lc.item(i)[0], node.lc.item(i)[0])
                     for i, v in enumerate(node)]
            sep = ""
        base = outer[-1].path if outer else ""
        keys = tuple(enc.key for enc in outer)
        for label, key, value, line, entry in items:
            path_here = f"{base}{sep}{label}"
            if isinstance(value, (CommentedMap, CommentedSeq)):
                visit(value, [*outer, _Enclosing(value, entry, path_here, key)])
                continue
            number = _number(value)
            if number is None or _exempt((*keys, key)):
                continue
            rule = _sourced(text, number, line, entry, key, node, outer, header)
            findings.append(Finding(line + 1, path_here, number, rule,
                                    quoted=isinstance(value, str)))

    visit(doc, [])
    return findings


# ------------------------------------------------------------------------------ the tests


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT / "scenarios"))


@pytest.mark.parametrize("path", [*SCENARIOS, *EXPERIMENTS], ids=_rel)
def test_every_figure_names_its_source(path: Path) -> None:
    findings = audit(path)
    rel = path.relative_to(ROOT)
    bad = [f"{rel}:{f.line}: {f.path} = {f.value}{' (quoted)' if f.quoted else ''}"
           for f in findings if not f.sourced]
    for line in bad:
        print(line)
    assert not bad, f"{len(bad)} of {len(findings)} numbers name no source:\n" + "\n".join(bad)


def test_the_bundled_files_are_all_checked() -> None:
    assert {p.stem for p in SCENARIOS} >= {"tutorial", "china-2021", "no-ban-2021", "iran-2021",
                                           "sparkpool-2021", "wuhan-general-2018"}
    assert {p.stem for p in EXPERIMENTS} >= {"china-2021-arms", "iran-2021-arms",
                                             "tutorial-sweep"}
    assert WITHOUT_FIGURES <= {_rel(p) for p in EXPERIMENTS}
    for path in [*SCENARIOS, *EXPERIMENTS]:
        checked = audit(path)
        if _rel(path) in WITHOUT_FIGURES:
            assert not checked, f"{_rel(path)} now has figures: take it off WITHOUT_FIGURES"
        else:
            assert checked, f"no number checked in {_rel(path)}: the walk is broken"


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
purchases:
  # Assumption: 800 rigs a day before the notices.
  - region: a
    start: 2021-09-01
    rigs_per_day: 800
  - region: a
    rigs_per_day: 900
# A model choice: plausible values, every horizon and constant an assumption.
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


def test_a_comment_must_name_a_source(tmp_path: Path) -> None:
    """A note that only restates or explains the figure is not a source (rules A, B and C)."""
    body = """\
parameters:
  hazard:
    values: [0.02, 0.1]  # per day at full strength (the tutorial has 0.05)
  risk_aversion:
    low: 1.0  # utility lost per unit of risk (the tutorial has 2)
    high: 3.0  # assumption: as far above 2 as low is below it
hardware:
  - hashrate_hs: 14.0e12  # 14 TH/s
    power_w: 1372  # CBECI 0.098 J/GH x 14 TH/s
    # the S9's price
    price_usd: 300
    # second-hand, 2021 (ref/hardware.csv)
    weight_kg: 14
fees:  # monthly means
  - {date: 2021-05-01, coins: 0.5939}
prices:  # monthly means (coindesk.com)
  - {date: 2021-05-01, usd: 36000}
regions:
  - risk: 0.2  # as china-2021
    carbon_g_per_kwh: 520  # IPCC AR5 medians x the 2020 mix
    capacity_mw: 310  # initial fleet + 5 % (ref/initial_fleet.csv)
    electricity_usd_per_kwh: 0.034  # derived: the monthly profile's mean
    exit: 0.01  # seeds/002
    hazard: 0.3  # calibrated
  - risk: 0.3  # high, as everyone knew
"""
    got = _audit_text(tmp_path, body)
    assert not got["parameters.hazard.values[0]"] and not got["parameters.hazard.values[1]"]
    assert not got["parameters.risk_aversion.low"] and got["parameters.risk_aversion.high"]
    assert not got["hardware[0].hashrate_hs"] and got["hardware[0].power_w"]
    assert not got["hardware[0].price_usd"] and got["hardware[0].weight_kg"]  # B
    assert not got["fees[0].coins"] and got["prices[0].usd"]  # C
    assert all(got[f"regions[0].{k}"] for k in ("risk", "carbon_g_per_kwh", "capacity_mw",
                                                "electricity_usd_per_kwh", "exit", "hazard"))
    assert not got["regions[1].risk"]  # "as" opens no clause there: no source named


def test_a_number_in_an_outer_note_is_not_a_source(tmp_path: Path) -> None:
    """Rule D reads the nearest note only: a list of figures further out is about others."""
    body = """\
# Carbon (assumption): IPCC medians, coal 820, gas 490.
regions:
  - name: a
    carbon_g_per_kwh: 820
  # b: assumption: gas, 490 g
  - name: b
    carbon_g_per_kwh: 490
  # c: assumption: a coal region
  - name: c
    carbon_g_per_kwh: 820
  - name: d
    # rough figures 490
    grid: {carbon_g_per_kwh: 490}
"""
    got = _audit_text(tmp_path, body)
    assert not got["regions[a].carbon_g_per_kwh"]  # stated only by the regions' note
    assert got["regions[b].carbon_g_per_kwh"]  # its own item's note states it
    assert not got["regions[c].carbon_g_per_kwh"]  # its note is the nearest, and omits 820
    assert not got["regions[d].grid.carbon_g_per_kwh"]  # the nearest note names no source


def test_a_covering_note_names_what_it_covers(tmp_path: Path) -> None:
    """Rule E: a covering note covers the fields it names, and a negated one covers nothing."""
    body = """\
# Every figure here is carefully sourced.
# No source gives a duration: every median and sigma below is an assumption.
routes:
  - transit: {median_days: 60, sigma: 0.45}
    cost_usd_per_rig: 600
# Not every value here is an assumption.
behaviour:
  horizon_days: 180
# As before: every value an assumption, except the constants.
policies:
  - hazard_per_day: 0.3
# Every rate here is not an assumption.
services:
  - exit_rate_per_day: 0.01
# Every figure here is an assumption.
pools:
  - fee: 0.02
# Each transit time, sigma and cost below is an assumption.
more_routes:
  - transit: {median_days: 45, sigma: 0.5}
    cost_usd_per_rig: 300
    capacity_rigs_per_day: 400
"""
    got = _audit_text(tmp_path, body)
    assert got["routes[0].transit.median_days"] and got["routes[0].transit.sigma"]
    assert not got["routes[0].cost_usd_per_rig"]  # the note names medians and sigmas only
    assert not got["behaviour.horizon_days"]  # negated
    assert not got["policies[0].hazard_per_day"]  # with an exception
    assert not got["services[0].exit_rate_per_day"]  # "is not an assumption"
    assert not got["pools[0].fee"]  # "every figure" covers a whole file from its header only
    assert got["more_routes[0].transit.median_days"] and got["more_routes[0].cost_usd_per_rig"]
    assert not got["more_routes[0].capacity_rigs_per_day"]


def test_a_file_wide_assumption_covers_the_file(tmp_path: Path) -> None:
    assert all(_audit_text(tmp_path, "# Every figure here is an assumption for teaching.\n\n"
                                     "behaviour: {horizon_days: 180}\nrisk: 0.2\n").values())
    assert not any(_audit_text(tmp_path, "# Not every figure here is an assumption.\n\n"
                                         "behaviour: {horizon_days: 180}\nrisk: 0.2\n").values())


def test_quoted_numbers_are_figures(tmp_path: Path) -> None:
    """A string that reads as a number is one to the model, so it needs a source too."""
    body = """\
regions:
  - name: a
    risk: "0.9"
    code: "2016"  # seeds/002
    exit: '1.5e-3'  # assumption: rare
    label: "Region 9"
    since: "2021-05-01"
"""
    path = tmp_path / "s.yaml"
    path.write_text(body, encoding="utf-8")
    findings = {f.path: f for f in audit(path)}
    assert not findings["regions[a].risk"].sourced and findings["regions[a].risk"].quoted
    assert findings["regions[a].risk"].value == 0.9
    assert findings["regions[a].exit"].sourced and findings["regions[a].exit"].value == 0.0015
    assert findings["regions[a].code"].sourced and findings["regions[a].code"].value == 2016
    assert not {"regions[a].name", "regions[a].label", "regions[a].since"} & set(findings)


def test_exemptions_apply_where_they_name_counts(tmp_path: Path) -> None:
    """seed and replicates at the top level, levels of an experiment's grid: elsewhere a
    number of that name is a figure like any other."""
    body = """\
seed: 7
replicates: 3
parameters:
  risk: {low: 1.0, high: 3.0, levels: 2}  # assumption: around the base's 2
design: {kind: morris, levels: 4}
behaviour:
  levels: 3
  seed: 11
arms:
  a:
    set: {replicates: 5}
"""
    got = _audit_text(tmp_path, body)
    assert "seed" not in got and "replicates" not in got
    assert "parameters.risk.levels" not in got and "design.levels" not in got
    assert got["parameters.risk.low"]
    assert not got["behaviour.levels"] and not got["behaviour.seed"]
    assert not got["arms.a.set.replicates"]
