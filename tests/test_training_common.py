"""What the recipes share: YAML config + flag overrides (strict), models.yaml merging, the teacher contract."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the recipes live in training/, beside the package, as scripts do
    sys.path.insert(0, str(ROOT))

from harness.errors import ConfigError  # noqa: E402
from training.common import parse_config, read_chat_jsonl, write_models_entries  # noqa: E402
from training.sbar import InvalidAnswer, sbar_text, training_example, validate_answer  # noqa: E402


@dataclass
class DemoConfig:
    data: str = "data.jsonl"
    steps: int = 30
    learning_rate: float = 2e-4
    merge: bool = True
    limit: int | None = None
    modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])


def test_yaml_fills_and_flags_override(tmp_path):
    config_file = tmp_path / "c.yaml"
    config_file.write_text("steps: 12\nlearning_rate: 1.0e-4\nmodules: [a, b, c]\n")
    config = parse_config(DemoConfig, ["--config", str(config_file), "--steps", "5", "--merge", "false",
                                       "--modules", "x,y", "--limit", "7"])
    assert (config.steps, config.learning_rate, config.merge, config.modules, config.limit) == (5, 1e-4, False,
                                                                                             ["x", "y"], 7)
    assert parse_config(DemoConfig, ["--limit", "none"]).limit is None
    assert parse_config(DemoConfig, []).steps == 30


def test_unknown_yaml_key_names_file_line_and_key(tmp_path):
    config_file = tmp_path / "c.yaml"
    config_file.write_text("steps: 12\nlearnin_rate: 0.1\n")
    with pytest.raises(ConfigError) as info:
        parse_config(DemoConfig, ["--config", str(config_file)])
    assert str(info.value).startswith(f"{config_file}:2: learnin_rate: unknown key")


def test_bad_values_are_config_errors(tmp_path):
    config_file = tmp_path / "c.yaml"
    config_file.write_text("steps: many\n")
    with pytest.raises(ConfigError, match=r"c.yaml:1: steps: "):
        parse_config(DemoConfig, ["--config", str(config_file)])
    with pytest.raises(ConfigError, match="command line: learning_rate"):
        parse_config(DemoConfig, ["--learning-rate", "fast"])


def test_models_entries_merge_without_clobbering(tmp_path):
    models = tmp_path / "models.yaml"
    models.write_text("version: 1\nmodels:\n  judge: {kind: mock}\n  old-sft: {kind: hf, path: a}\n")
    write_models_entries(models, {"old-sft": {"kind": "hf", "path": "b"}, "new": {"kind": "gguf", "path": "c.gguf"}})
    data = yaml.safe_load(models.read_text())
    assert data["models"] == {"judge": {"kind": "mock"}, "old-sft": {"kind": "hf", "path": "b"},
                              "new": {"kind": "gguf", "path": "c.gguf"}}
    # a file that is not a models file is refused, not overwritten
    other = tmp_path / "other.yaml"
    other.write_text("just: text\n")
    with pytest.raises(ConfigError, match="not overwriting"):
        write_models_entries(other, {"x": {"kind": "mock"}})
    assert other.read_text() == "just: text\n"


def test_written_entries_load_with_the_harness(tmp_path):
    from harness.config import load_models

    models = tmp_path / "models.yaml"
    write_models_entries(models, {"a-sft": {"kind": "hf", "path": "training/out/sft/merged"},
                                  "a-lora": {"kind": "lora", "base": "b", "adapter": "c"},
                                  "a-qat": {"kind": "qat", "path": "q"},
                                  "a-q4": {"kind": "gguf", "family": "smollm2", "path": "x.gguf", "n_ctx": 4096}})
    assert sorted(load_models(models)) == ["a-lora", "a-q4", "a-qat", "a-sft"]


def test_chat_data_must_end_with_an_assistant_turn(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(ConfigError, match="end with an assistant turn"):
        read_chat_jsonl(data)


# ---------------------------------------------------------------- the teacher's answer contract

VALID = {"skip": False, "reason": "", "patient": "I am 34 and have had a dry cough for three weeks now.",
         "situation": "34-year-old with a dry cough for three weeks.",
         "background": "No other history given by the patient.",
         "assessment": "A cough lasting weeks needs a clinician's review; no red flags reported.",
         "recommendation": "Book a routine appointment; seek care sooner if breathless or coughing blood."}


def test_a_valid_answer_becomes_a_chat_example():
    answer = validate_answer(json.dumps(VALID))
    example = training_example(answer, "SYSTEM")
    assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant"]
    assert example["messages"][2]["content"].splitlines()[0] == "Situation: 34-year-old with a dry cough for three weeks."
    assert sbar_text(answer).count("\n") == 3
    # one ```json fence is tolerated
    assert validate_answer("```json\n" + json.dumps(VALID) + "\n```") == answer


@pytest.mark.parametrize("text, problem", [
    ("", "empty answer"),
    ("Sure! Here is the note.", "not valid JSON"),
    ('{"skip": false, "reason": ""', "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({**VALID, "extra": 1}), "unknown key 'extra'"),
    (json.dumps({k: v for k, v in VALID.items() if k != "assessment"}), "missing key 'assessment'"),
    (json.dumps({**VALID, "skip": "no"}), "'skip' must be a boolean"),
    (json.dumps({**VALID, "situation": "Cough."}), "'situation' is too short"),
    (json.dumps({**VALID, "background": "word " * 200}), "'background' is too long"),
    (json.dumps({**VALID, "assessment": "You probably have a chest infection."}), "'assessment' diagnoses"),
    (json.dumps({"skip": True, "reason": ""}), "a skip needs a 'reason'"),
])
def test_invalid_answers_are_rejected_with_the_reason(text, problem):
    with pytest.raises(InvalidAnswer, match=problem):
        validate_answer(text)


def test_a_skip_with_a_reason_is_valid():
    answer = validate_answer(json.dumps({"skip": True, "reason": "greeting only", "patient": "",
                                         "situation": "", "background": "", "assessment": "",
                                         "recommendation": ""}))
    assert answer.skip and answer.reason == "greeting only"


def test_background_may_quote_a_past_diagnosis():
    answer = validate_answer(json.dumps({**VALID, "background": "Diagnosed with asthma as a child; uses an inhaler."}))
    assert "asthma" in answer.background


def test_the_golden_set_passes_the_teacher_contract():
    data = ROOT / "training" / "data" / "sbar_train.jsonl"
    if not data.is_file():
        pytest.skip("training/data/sbar_train.jsonl is not there yet")
    from training.sbar import _DIAGNOSING

    for messages in read_chat_jsonl(data):
        for message in messages:
            if message["role"] == "assistant":
                lines = message["content"].splitlines()
                assert [line.split(":")[0] for line in lines] == ["Situation", "Background", "Assessment",
                                                                "Recommendation"]
                for line in lines[2:]:
                    assert not _DIAGNOSING.search(line), line
