"""The human labels file: the two kinds of row, and a strict reader with one-line errors naming file, line, key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.labels import CriterionLabel, PairwiseLabel, read_labels


def write(tmp_path: Path, *rows) -> Path:
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_both_kinds_are_read_in_file_order(tmp_path):
    path = write(tmp_path,
                 {"case_id": "c1", "a": "sft", "b": "base", "preferred": "a", "reason": "refers to A&E"},
                 "",
                 {"case_id": "c1", "model": "sft", "criterion": "no-diagnosis", "met": False},
                 {"case_id": "c2", "a": "sft", "b": "base", "preferred": "tie"})
    assert read_labels(path) == [
        PairwiseLabel(case_id="c1", a="sft", b="base", preferred="a", reason="refers to A&E"),
        CriterionLabel(case_id="c1", model="sft", criterion="no-diagnosis", met=False),
        PairwiseLabel(case_id="c2", a="sft", b="base", preferred="tie"),
    ]


@pytest.mark.parametrize(("row", "message"), [
    ({"case_id": "c", "a": "x", "b": "y", "preferred": "A"}, "labels.jsonl:2: preferred: Input should be 'a', 'b' or 'tie'"),
    ({"case_id": "c", "a": "x", "b": "x", "preferred": "a"}, "labels.jsonl:2: b: the same model as a ('x')"),
    ({"case_id": "c", "a": "x", "b": "y", "preferred": "a", "why": "?"}, "labels.jsonl:2: why: unknown key"),
    ({"case_id": "c", "model": "x", "criterion": "k", "met": "yes"}, "labels.jsonl:2: met: Input should be a valid boolean"),
    ({"case_id": "c", "model": "x", "criterion": "k", "met": 1}, "labels.jsonl:2: met: Input should be a valid boolean"),
    ({"case_id": "c", "model": "x", "met": True}, "labels.jsonl:2: criterion: missing required field"),
    ({"case_id": " ", "model": "x", "criterion": "k", "met": True}, "labels.jsonl:2: case_id: must not be empty"),
    ({"case_id": "c", "a": "x", "b": "y", "preferred": "a", "reason": 3}, "labels.jsonl:2: reason: Input should be a valid string"),
    ({"case_id": "c", "a": "x", "b": "y", "model": "x", "preferred": "a"}, "labels.jsonl:2: model: mixes a pairwise label"),
    ({"case_id": "c"}, "labels.jsonl:2: neither a pairwise label"),
    ([1, 2], "labels.jsonl:2: expected a JSON object"),
    ("{not json", "labels.jsonl:2: invalid JSON"),
])
def test_a_bad_row_is_one_line_naming_file_line_and_key(tmp_path, row, message):
    path = write(tmp_path, {"case_id": "ok", "a": "x", "b": "y", "preferred": "b"}, row)
    with pytest.raises(ConfigError) as caught:
        read_labels(path)
    text = str(caught.value)
    assert "\n" not in text and text.startswith(str(tmp_path)) and message in text
    assert caught.value.exit_code == 2


def test_the_same_judgement_twice_is_an_error(tmp_path):
    path = write(tmp_path, {"case_id": "c", "a": "x", "b": "y", "preferred": "a"},
                 {"case_id": "c", "a": "y", "b": "x", "preferred": "a"})
    with pytest.raises(ConfigError, match=r"labels.jsonl:2: case_id: labels this pair of case 'c' again \(first on line 1\)"):
        read_labels(path)
    path = write(tmp_path, {"case_id": "c", "model": "x", "criterion": "k", "met": True},
                 {"case_id": "c", "model": "x", "criterion": "k", "met": False})
    with pytest.raises(ConfigError, match="labels this criterion of case 'c' again"):
        read_labels(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="labels file not found"):
        read_labels(tmp_path / "none.jsonl")
