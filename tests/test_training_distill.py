"""The distillation recipe: log reading, the teacher loop (scripted mock teacher), and a short real run."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the recipes live in training/, beside the package, as scripts do
    sys.path.insert(0, str(ROOT))

from harness.errors import ConfigError  # noqa: E402
from training.distill import DistillConfig, distill, drop_repeated, read_conversations  # noqa: E402
from training.sbar import validate_answer  # noqa: E402


def note(patient: str, **parts) -> str:
    body = {"skip": False, "reason": "", "patient": patient,
            "situation": "Adult reporting the symptom described, ongoing for some days.",
            "background": "No other history was given in the conversation.",
            "assessment": "No red-flag symptoms reported; this needs a clinician's review.",
            "recommendation": "Book a routine appointment and seek care sooner if it gets worse."}
    body.update(parts)
    return json.dumps({k: v for k, v in body.items() if v is not None})


CHEST = "I am 61 and my chest feels tight when I climb stairs, for a week now."
ANKLE = "I twisted my ankle playing football two days ago and it is still swollen."
RULES = [
    # first match wins: the ankle retry (its prompt carries the rejection) before the ankle first try
    {"contains": "missing key 'assessment'", "response": note(ANKLE)},
    {"contains": "ankle", "response": note(ANKLE, assessment=None)},
    {"contains": "Patient: hi\n</conversation>", "response": json.dumps({"skip": True, "reason": "greeting only", "patient": "",
                                                         "situation": "", "background": "", "assessment": "",
                                                         "recommendation": ""})},
    {"contains": "throat", "response": "Situation: sore throat. I cannot answer in JSON, sorry."},
    {"contains": "knee", "response": note(CHEST)},  # a different chat rewritten to the same patient message
    {"contains": "stairs", "response": note(CHEST)},
]


def write_logs(path: Path) -> None:
    rows = [
        ("c1", "human", "hi, my chest gets tight on the stairs", "2026-03-01T10:00:00Z"),
        ("c1", "assistant", "How long has this been going on?", "2026-03-01T10:00:05Z"),
        ("c1", "human", "about a week, I'm 61", "2026-03-01T10:01:00Z"),
        ("c1", "human", "only when I climb", "2026-03-01T10:01:10Z"),  # same speaker again: joined
        ("c2", "human", "hi", "2026-03-01T11:00:00Z"),
        ("c3", "human", "my throat has been sore for five days", "2026-03-01T12:00:00Z"),
        ("c4", "user", "I twisted my ankle playing football", "2026-03-01T13:00:00Z"),
        ("c4", "bot", "Can you walk on it?", "2026-03-01T13:00:30Z"),
        ("c5", "human", "hi, my chest gets tight on the stairs", "2026-03-03T10:00:00Z"),  # c1 again
        ("c5", "assistant", "How long has this been going on?", "2026-03-03T10:00:05Z"),
        ("c5", "human", "about a week, I'm 61", "2026-03-03T10:01:00Z"),
        ("c5", "human", "only when I climb", "2026-03-03T10:01:10Z"),
        ("c6", "human", "my knee clicks when I squat", 1772708400),  # epoch seconds are timestamps too
    ]
    random.Random(7).shuffle(rows)
    path.write_text("".join(json.dumps({"conversation_id": c, "role": r, "text": t, "timestamp": s}) + "\n"
                            for c, r, t, s in rows))


def test_logs_are_grouped_ordered_and_roles_normalised(tmp_path):
    logs = tmp_path / "raw.jsonl"
    write_logs(logs)
    conversations = read_conversations(logs)
    assert [c.conversation_id for c in conversations] == ["c1", "c2", "c3", "c4", "c5", "c6"]
    c1 = conversations[0]
    assert [t["role"] for t in c1.turns] == ["user", "assistant", "user"]
    assert c1.turns[2]["content"] == "about a week, I'm 61\nonly when I climb"
    assert c1.transcript().startswith("Patient: hi, my chest gets tight on the stairs\nAssistant: How long")
    kept, repeated = drop_repeated(conversations)
    assert repeated == ["c5"] and len(kept) == 5


@pytest.mark.parametrize("row, words", [
    ({"conversation_id": "a", "role": "doctor?", "text": "x", "timestamp": "2026-01-01T00:00:00Z"}, "unknown role"),
    ({"conversation_id": "a", "role": "human", "text": "x", "timestamp": "yesterday"}, "timestamp"),
    ({"conversation_id": "a", "role": "human", "text": "x"}, "timestamp: missing required field"),
    ({"conversation_id": "a", "role": "human", "text": "x", "timestamp": 1, "mood": "ok"}, "mood: unknown key"),
])
def test_bad_log_rows_are_config_errors_with_the_line(tmp_path, row, words):
    logs = tmp_path / "raw.jsonl"
    logs.write_text(json.dumps({"conversation_id": "z", "role": "human", "text": "ok", "timestamp": 0}) + "\n"
                    + json.dumps(row) + "\n")
    with pytest.raises(ConfigError, match=rf"raw.jsonl:2: .*{words}"):
        read_conversations(logs)


def test_the_projects_raw_logs_read_as_documented():
    logs = ROOT / "training" / "data" / "raw_logs.jsonl"
    if not logs.is_file():
        pytest.skip("training/data/raw_logs.jsonl is not there yet")
    kept, repeated = drop_repeated(read_conversations(logs))
    assert len(kept) + len(repeated) == 12 and repeated == ["c008"]


def test_distill_with_a_scripted_teacher(tmp_path):
    logs, models, out = tmp_path / "raw.jsonl", tmp_path / "models.yaml", tmp_path / "out" / "golden.jsonl"
    write_logs(logs)
    models.write_text(yaml.safe_dump({"version": 1, "models": {"teacher": {"kind": "mock", "rules": RULES}}}))
    out.parent.mkdir()
    out.write_text("old content\n")
    report = distill(DistillConfig(raw_logs=str(logs), output=str(out), teacher="teacher", models=str(models),
                                   system_prompt="SYS", max_retries=2))
    assert {k: report[k] for k in ("conversations", "repeated_in_logs", "rewritten", "written", "skipped", "failed",
                                   "duplicates", "teacher_calls", "retries")} == {
        "conversations": 6, "repeated_in_logs": 1, "rewritten": 5, "written": 2, "skipped": 1, "failed": 1,
        "duplicates": 1, "teacher_calls": 1 + 1 + 3 + 2 + 1, "retries": 2 + 1}
    (failure,) = report["failures"]
    assert failure["conversation_id"] == "c3" and failure["attempts"] == 3
    assert all(r.startswith("not valid JSON") for r in failure["rejections"])
    assert report["skips"] == [{"conversation_id": "c2", "reason": "greeting only"}]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [ex["messages"][1]["content"] for ex in lines] == [CHEST, ANKLE]
    for example in lines:
        assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant"]
        assert example["messages"][0]["content"] == "SYS"
        assert example["messages"][2]["content"].startswith("Situation: ")
    saved = json.loads((out.parent / "golden.jsonl.report.json").read_text())
    assert saved["written"] == 2 and saved["config"]["teacher"] == "teacher"


def test_an_unknown_teacher_is_a_config_error(tmp_path):
    logs, models = tmp_path / "raw.jsonl", tmp_path / "models.yaml"
    write_logs(logs)
    models.write_text(yaml.safe_dump({"version": 1, "models": {"teacher": {"kind": "mock"}}}))
    with pytest.raises(ConfigError, match="teacher 'nobody' is not in"):
        distill(DistillConfig(raw_logs=str(logs), output=str(tmp_path / "o.jsonl"), teacher="nobody",
                              models=str(models)))
    assert not (tmp_path / "o.jsonl").exists()


def test_the_teacher_may_be_a_shorthand_id_without_a_models_file(tmp_path):
    from training.distill import build_teacher

    teacher = build_teacher(tmp_path / "absent.yaml", "openai/gpt-4.1-mini")
    assert (teacher.model_id, teacher.options.model, teacher.max_concurrency) == ("openai/gpt-4.1-mini", "gpt-4.1-mini", 4)
    with pytest.raises(ConfigError, match=r"teacher 'nobody' is not in .*absent.yaml \(no such file\)"):
        build_teacher(tmp_path / "absent.yaml", "nobody")


@pytest.mark.slow
def test_a_real_short_run_with_the_bundled_smollm2(tmp_path):
    """A 135M teacher mostly fails the strict contract: failures are counted, retried a bounded number of
    times, and nothing invalid reaches the output."""
    pytest.importorskip("llama_cpp")
    logs = ROOT / "training" / "data" / "raw_logs.jsonl"
    if not logs.is_file():
        logs = tmp_path / "raw.jsonl"
        write_logs(logs)
    out = tmp_path / "golden.jsonl"
    report = distill(DistillConfig(raw_logs=str(logs), output=str(out), teacher="smollm2-135m",
                                   models=str(ROOT / "models.yaml"), max_retries=1, max_tokens=160, limit=2))
    assert report["rewritten"] == 2
    assert report["written"] + report["skipped"] + report["failed"] + report["duplicates"] == 2
    assert report["teacher_calls"] <= 2 * (1 + 1)
    assert report["retries"] <= report["teacher_calls"] - 1
    for failure in report["failures"]:
        assert failure["attempts"] == 2 and len(failure["rejections"]) == 2
    written = out.read_text().splitlines()
    assert len(written) == report["written"]
    for line in written:  # whatever was written is a whole, valid example
        messages = json.loads(line)["messages"]
        assert [m["role"] for m in messages] == ["system", "user", "assistant"]
        parts = dict(part.split(": ", 1) for part in messages[2]["content"].splitlines())
        validate_answer(json.dumps({"skip": False, "reason": "", "patient": messages[1]["content"],
                                    **{k.lower(): v for k, v in parts.items()}}))
