"""Shorthand model ids (openai/gpt-4.1-mini, ollama/qwen2.5:0.5b, gguf/path.gguf, ...): resolved to a default entry
of the kind, the same entry (and fingerprint, and cache) as written out in models.yaml; a models.yaml id wins."""

from __future__ import annotations

import json
import textwrap

import pytest

from harness.adapters import mock
from harness.cli import main
from harness.config import load_models, load_suite, resolve_model
from harness.errors import ConfigError
from harness.registry import create_adapter
from harness.shorthand import SHORTHAND_KINDS, shorthand_body

PREFIXES = "anthropic/, bedrock/, gemini/, gguf/, hf/, mock/, ollama/, openai/, qat/"


@pytest.mark.parametrize("model_id, kind, settings", [
    ("openai/gpt-4.1-mini", "openai", {"model": "gpt-4.1-mini"}),
    ("anthropic/claude-haiku-4-5", "anthropic", {"model": "claude-haiku-4-5"}),
    ("gemini/gemini-2.5-flash", "gemini", {"model": "gemini-2.5-flash"}),
    ("ollama/qwen2.5:0.5b", "ollama", {"model": "qwen2.5:0.5b"}),
    ("ollama/hf.co/bartowski/Qwen2.5-0.5B-GGUF:Q4_K_M", "ollama", {"model": "hf.co/bartowski/Qwen2.5-0.5B-GGUF:Q4_K_M"}),
    ("bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0", "bedrock",
     {"model": "us.anthropic.claude-3-5-haiku-20241022-v1:0"}),
    ("gguf/models/sft-Q4_K_M.gguf", "gguf", {"path": "models/sft-Q4_K_M.gguf"}),
    ("gguf//abs/model.gguf", "gguf", {"path": "/abs/model.gguf"}),
    ("hf/checkpoints/base", "hf", {"path": "checkpoints/base"}),
    ("qat/checkpoints/qat", "qat", {"path": "checkpoints/qat"}),
    ("mock/Situation: fine.", "mock", {"responses": ["Situation: fine."]}),
])
def test_each_prefix_resolves_to_the_entry_models_yaml_would_hold(tmp_path, model_id, kind, settings):
    entry = resolve_model(model_id, {})
    assert entry.id == model_id and entry.kind == kind
    assert entry.options.model_dump(exclude_defaults=True) == settings
    # The same keys written into models.yaml give the same entry, but for its id.
    body = {"kind": kind, **settings, **({"max_concurrency": 4} if kind in ("openai", "anthropic", "gemini", "bedrock")
                                         else {})}
    (tmp_path / "models.yaml").write_text(json.dumps({"version": 1, "models": {"written": body}}))
    written = load_models(tmp_path / "models.yaml")["written"]
    assert written.model_dump(exclude={"id"}) == entry.model_dump(exclude={"id"})
    assert entry.max_concurrency == (4 if kind in ("openai", "anthropic", "gemini", "bedrock") else 1)


def test_the_fingerprint_equals_that_of_the_written_out_entry(tmp_path, monkeypatch, smollm2_path):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    (tmp_path / "models.yaml").write_text(textwrap.dedent(f"""\
        version: 1
        models:
          mini: {{kind: openai, model: gpt-4.1-mini}}
          smol: {{kind: gguf, path: "{smollm2_path}"}}
          hello: {{kind: mock, responses: [Hello there.]}}
        """))
    written = load_models(tmp_path / "models.yaml")
    for short, name in (("openai/gpt-4.1-mini", "mini"), (f"gguf/{smollm2_path}", "smol"),
                        ("mock/Hello there.", "hello")):
        assert create_adapter(resolve_model(short, written)).fingerprint() == create_adapter(written[name]).fingerprint()
    assert create_adapter(resolve_model("openai/gpt-4.1-mini", {})).fingerprint() == \
        "openai:https://api.openai.com/v1:gpt-4.1-mini"


def test_an_id_in_models_yaml_wins_over_the_shorthand_reading(tmp_path):
    (tmp_path / "models.yaml").write_text("version: 1\nmodels:\n  openai/gpt-4.1-mini: {kind: mock}\n")
    models = load_models(tmp_path / "models.yaml")
    assert resolve_model("openai/gpt-4.1-mini", models).kind == "mock"


def test_unknown_prefix_and_unknown_plain_id_are_one_line_errors_listing_the_prefixes():
    with pytest.raises(ConfigError) as info:
        resolve_model("mistral/small", {}, key="--models")
    assert str(info.value) == ("--models: 'mistral/small' is not in the models file and 'mistral/' is no shorthand "
                               f"prefix (known: {PREFIXES})")
    with pytest.raises(ConfigError, match=rf"model 'gpt' is not in models.yaml \(known: none\) and is no shorthand id "
                                          rf"\({PREFIXES} \+ a name\)"):
        resolve_model("gpt", {})
    with pytest.raises(ConfigError, match="names no model after 'openai/'"):
        shorthand_body("openai/")
    assert shorthand_body("plain-id") is None
    assert set(SHORTHAND_KINDS) <= set(__import__("harness.registry", fromlist=["KINDS"]).KINDS)


def test_a_suite_may_name_shorthand_models_and_judges_and_a_bad_one_names_its_line(tmp_path, monkeypatch):
    from tests.conftest import write_project

    suite = write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    text = suite.read_text().replace("models: [good, bad]", 'models: [good, "mock/You have the flu. Rest."]')
    suite.write_text(text.replace("judge: judge", "judge: mock/unused"))
    loaded = load_suite(suite, load_models(tmp_path / "models.yaml"))
    assert loaded.suite.models[1] == "mock/You have the flu. Rest."
    suite.write_text(text.replace("judge: judge", "judge: llama/x"))
    with pytest.raises(ConfigError, match=r"mini\.yaml:7: judge: 'llama/x' is not in the models file"):
        load_suite(suite, load_models(tmp_path / "models.yaml"))


def test_a_run_with_shorthand_ids_and_no_models_file_shares_the_cache_with_named_entries(tmp_path, monkeypatch):
    from tests.conftest import GOOD, write_project

    suite = write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    good = "mock/" + GOOD.replace("\\n", "\n")
    (tmp_path / "models.yaml").rename(tmp_path / "kept.yaml")
    text = suite.read_text().replace("models: [good, bad]", f"models: [{json.dumps(good)}, mock/You have the flu.]")
    suite.write_text(text.replace("judge: judge", "judge: mock/judge"))
    mock.CALLS.clear()
    assert main(["run", "mini", "--quiet"]) == 0
    # 6 answers each; the judge grades 12 answers on one criterion and ranks 6 cases in 2 orders
    assert mock.CALLS[good] == 6 and mock.CALLS["mock/judge"] == 12 + 12
    results = json.loads(next((tmp_path / "reports" / "mini").glob("*/results.json")).read_text())
    by_id = {m["id"]: m for m in results["models"]}
    assert by_id[good]["score"] == pytest.approx(1.0) and by_id["mock/You have the flu."]["score"] == 0.0
    # The same model written out under a name of its own: its answers come from the cache.
    (tmp_path / "models.yaml").write_text(textwrap.dedent("""\
        version: 1
        models:
          sbar-writer:
            kind: mock
            responses: [%s]
        """) % json.dumps(GOOD.replace("\\n", "\n")))
    mock.CALLS.clear()
    assert main(["run", "mini", "--models", "sbar-writer,mock/You have the flu.", "--judge", "mock/judge", "--quiet"]) == 0
    assert sum(mock.CALLS.values()) == 0


def test_bench_models_shows_what_ids_resolve_to(tmp_path, monkeypatch, capsys):
    from harness.model_list import entry_settings, listed_models
    from tests.conftest import write_project

    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    rows = listed_models(tmp_path / "models.yaml", resolve=["openai/gpt-4.1-mini", "good"])
    assert [(e.id, e.kind, origin) for e, origin in rows] == [("openai/gpt-4.1-mini", "openai", "shorthand"),
                                                               ("good", "mock", "models file")]
    assert entry_settings(rows[0][0]) == {"kind": "openai", "model": "gpt-4.1-mini", "max_concurrency": 4}
    rows = listed_models(tmp_path / "models.yaml", suite="mini")
    assert [e.id for e, _ in rows] == ["good", "bad", "judge"]
    assert main(["models", "--resolve", "ollama/qwen2.5:0.5b", "--models-file", "absent.yaml"]) == 0
    out = capsys.readouterr().out
    assert "ollama/qwen2.5:0.5b" in out and "shorthand" in out and "model: qwen2.5:0.5b" in out
    assert main(["models", "--resolve", "vllm/x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"(known: {PREFIXES})" in err
    assert main(["models", "--models-file", "absent.yaml"]) == 2  # listing a file that is not there


@pytest.mark.slow
def test_a_gguf_shorthand_runs_the_bundled_model_and_shares_its_cache_with_a_written_out_entry(
        tmp_path, monkeypatch, smollm2_path):
    """`gguf/<relative path>` end to end with real weights: answers under the shorthand, then the same file written
    out in models.yaml (by its absolute path, through a link) is the same model: every answer comes from the
    cache."""
    from tests.conftest import write_project

    write_project(tmp_path, n_cases=3)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "smol.gguf").symlink_to(smollm2_path)
    flags = ["--judge", "none", "--max-tokens", "12", "--quiet"]
    assert main(["run", "mini", "--models", "gguf/weights/smol.gguf,good", *flags]) == 0
    shorthand = json.loads(next((tmp_path / "reports" / "mini").glob("*/results.json")).read_text())
    smol = {m["id"]: m for m in shorthand["models"]}["gguf/weights/smol.gguf"]
    assert smol["kind"] == "gguf" and smol["fingerprint"].startswith("gguf:sha256:")
    assert shorthand["generation"]["calls"] == 6 and shorthand["generation"]["cached"] == 0
    with (tmp_path / "models.yaml").open("a") as fh:
        fh.write(f"  smol:\n    kind: gguf\n    path: {json.dumps(str(smollm2_path))}\n")
    assert main(["run", "mini", "--models", "smol,good", *flags]) == 0
    runs = sorted((tmp_path / "reports" / "mini").glob("*/results.json"), key=lambda p: p.stat().st_mtime)
    written = json.loads(runs[-1].read_text())
    assert written["run_id"] != shorthand["run_id"]
    assert {m["id"]: m for m in written["models"]}["smol"]["fingerprint"] == smol["fingerprint"]
    assert written["generation"]["calls"] == 0 and written["generation"]["cached"] == 6  # no new call
    # the cached answers, word for word: nothing was generated again
    assert [c["answers"]["smol"]["text"] for c in written["cases"]] == \
        [c["answers"]["gguf/weights/smol.gguf"]["text"] for c in shorthand["cases"]]
