"""Files that are not scenarios at all: each gives a ScenarioError with a located message.

Whatever the bytes, :func:`sim.validation.load` raises nothing but ``ScenarioError``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_docs import minimal_doc, to_yaml

from sim.errors import Issue, ScenarioError
from sim.scenario import Scenario
from sim.validation import load, loads

VALID = to_yaml(minimal_doc())


def file_issues(tmp_path: Path, data: bytes, name: str = "bad.yaml") -> list[Issue]:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ScenarioError) as caught:
        load(path)
    assert all(i.file == str(path) for i in caught.value.issues)
    return caught.value.issues


def text_issues(text: str) -> list[Issue]:
    with pytest.raises(ScenarioError) as caught:
        loads(text, "bad.yaml")
    return caught.value.issues


def case(name: str, data: bytes, path: str, line: int, col: int, words: str) -> object:
    """A bad file, the issue's field path, 1-based line and column, and words of its message."""
    return pytest.param(data, path, line, col, words, id=name)


DOC = "(document)"
FILE_CASES = [
    case("empty_file", b"", DOC, 1, 1, "holds no scenario; a scenario needs at least: name"),
    case("only_comments", b"# nothing\n\n", DOC, 1, 1, "holds no scenario"),
    case("list_at_top", b"- name: x\n- start: 2021\n", DOC, 1, 1, "got a list"),
    case("scalar_at_top", b"\nhello world\n", DOC, 2, 1, "got the text 'hello world'"),
    case("not_yaml", b"name: x\nstart: [2021\nend: 2\n", DOC, 3, 4, "invalid YAML"),
    case("tab_indent", b"name: x\ncoins:\n\t- a\n", DOC, 3, 1, "invalid YAML"),
    case("two_documents", b"name: x\n---\nname: y\n", DOC, 2, 1, "single document"),
    case(
        "duplicate_key", b"name: x\nstart: 2021-01-01\nname: y\n", "name", 3, 1, "first on line 1"
    ),
    case(
        "nested_duplicate",
        b"behaviour:\n  horizon_days: 1\n  horizon_days: 2\n",
        "behaviour.horizon_days",
        3,
        3,
        "duplicate key 'horizon_days'",
    ),
    case(
        "python_object",
        b"name: !!python/object/apply:os.system ['true']\n",
        "name",
        1,
        7,
        "tag '!!python/object/apply:os.system' is not allowed",
    ),
    case("custom_tag", b"name: x\nseed: !secret 5\n", "seed", 2, 7, "tag '!secret' is not allowed"),
    case("binary_tag", b"name: !!binary aGVsbG8=\n", "name", 1, 7, "tag '!!binary' is not allowed"),
    case("float_tag_on_text", b"seed: !!float abc\n", "seed", 1, 7, "tag '!!float' is not allowed"),
    case("non_utf8", b"name: x\ndescription: caf\xe9\n", DOC, 2, 17, "not UTF-8 text: byte 0xe9"),
    case(
        "binary_file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", DOC, 1, 1, "looks like a binary file"
    ),
    case("nul_character", b"name: x\x00y\n", DOC, 1, 8, "U+0000 is not allowed"),
    case("utf16", "name: x\n".encode("utf-16"), DOC, 1, 1, "UTF-16"),
    case("deep_brackets", b"name: " + b"[" * 5000 + b"]" * 5000, DOC, 1, 1, "nested too deeply"),
    case("deep_block_lists", b"- " * 3000 + b"x\n", DOC, 1, 1, "nested too deeply"),
]


@pytest.mark.parametrize(("data", "path", "line", "col", "words"), FILE_CASES)
def test_bad_file(tmp_path: Path, data: bytes, path: str, line: int, col: int, words: str) -> None:
    issues = file_issues(tmp_path, data)
    issue = issues[0]
    assert (issue.dotted_path, issue.line, issue.col) == (path, line, col), str(issue)
    assert words in issue.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path / "nope.yaml")
    (issue,) = caught.value.issues
    assert issue.file == str(tmp_path / "nope.yaml") and issue.message == "file not found"
    assert str(issue) == f"{tmp_path / 'nope.yaml'}: (document): file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load(str(tmp_path))
    assert "is a directory" in caught.value.issues[0].message


def test_python_tag_constructs_nothing(tmp_path: Path) -> None:
    witness = tmp_path / "witness"
    text = f"name: !!python/object/apply:os.system ['touch {witness}']\n"
    text_issues(text)
    text_issues(f"name: !!python/object/apply:subprocess.call [['touch', '{witness}']]\n")
    assert not witness.exists()


def test_every_bad_tag_and_duplicate_is_reported(tmp_path: Path) -> None:
    data = b"a: !!set {x}\nb: 1\nb: 2\nc:\n  d: !foo 1\n  d: 3\n"
    issues = file_issues(tmp_path, data)
    assert [(i.dotted_path, i.line) for i in issues] == [("a", 1), ("b", 3), ("c.d", 5), ("c.d", 6)]


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert isinstance(load(path), Scenario)


def test_windows_line_endings_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "crlf.yaml"
    path.write_bytes(VALID.replace("\n", "\r\n").encode())
    assert isinstance(load(path), Scenario)


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    (issue,) = text_issues("\n".join(lines) + "\n")
    assert "aliases expand" in issue.message and issue.line == 1


def test_anchors_and_merge_keys_work() -> None:
    text = VALID.replace(
        "- name: china\n  electricity_usd_per_kwh: 0.05\n  carbon_g_per_kwh: 600.0\n",
        "- &cheap\n  name: china\n  electricity_usd_per_kwh: 0.05\n  carbon_g_per_kwh: 600.0\n",
    ).replace(
        "- name: usa\n  electricity_usd_per_kwh: 0.06\n  carbon_g_per_kwh: 400.0\n",
        "- <<: *cheap\n  name: usa\n",
    )
    scenario = loads(text)
    assert scenario.regions[3].name == "usa" and scenario.regions[3].carbon_g_per_kwh == 600.0


def test_unknown_key_in_a_merged_mapping_points_at_the_mapping() -> None:
    text = VALID.replace("behaviour:\n", "x: &x {horizn_days: 3}\nbehaviour:\n  <<: *x\n")
    issues = text_issues(text)
    assert {i.dotted_path for i in issues} == {"x", "behaviour.horizn_days"}
    assert all(i.line is not None for i in issues)


def test_keys_that_are_not_text() -> None:
    issues = text_issues(VALID.replace("name: minimal\n", "name: minimal\n3: x\n? [1, 2]\n: y\n"))
    assert [(i.line, i.message) for i in issues] == [
        (2, "keys must be text, got 3"),
        (3, "keys must be text, got (1, 2)"),
    ]


def test_wrong_date_strings() -> None:
    for value, words in [
        ("'2021-5-1'", "expected a date YYYY-MM-DD, got '2021-5-1'"),
        ("June 2021", "expected a date YYYY-MM-DD, got 'June 2021'"),
        ("2021-06-20 10:00:00", "without a time of day, got 2021-06-20T10:00:00"),
        ("2021", "expected a date YYYY-MM-DD, got 2021"),
    ]:
        (issue,) = text_issues(VALID.replace("start: 2021-05-01", f"start: {value}"))
        assert (issue.dotted_path, issue.line, issue.col) == ("start", 3, 8)
        assert words in issue.message


def test_values_are_shown_shortened() -> None:
    (issue,) = text_issues(VALID.replace("name: minimal", "name: [" + "1, " * 500 + "1]"))
    assert issue.message.startswith("expected text, got [1, 1, 1, 1, 1, ...]")
    assert len(issue.message) < 120
