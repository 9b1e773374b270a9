"""Session fixtures for the model-kind tests: the SmolLM2 HF checkpoint, a LoRA adapter and a QAT checkpoint
trained on it, and llama-cpp-python's OpenAI-compatible server serving the bundled GGUF.

Test modules import the fixtures they use by name (pytest finds fixtures a module imports).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.models import make_lora_adapter, make_qat_checkpoint, smollm2_gguf_path, smollm2_hf_dir

SERVER_KEY = "sk-local-server-key"


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Training steps with torch's threads set, and the process-wide setting put back after."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def threads_for_tests() -> int | None:
    """Compute threads for the model tests (torch, and the llama.cpp server): 1 unless
    BENCH_TEST_TORCH_THREADS says otherwise (0: the library's default).
    Machines running several test sessions at once make two spinning threads per process several times
    slower than one (measured: QAT fixture 44 s with two threads, 9 s with one, on a busy 2-core machine)."""
    value = os.environ.get("BENCH_TEST_TORCH_THREADS", "1")
    return int(value) or None


@pytest.fixture
def torch_threads_option():
    """The `torch_threads` option for the adapters a test makes; as torch's setting is process-wide,
    the value from before the test is put back after it."""
    import torch

    before = torch.get_num_threads()
    yield threads_for_tests()
    torch.set_num_threads(before)


@dataclass
class Trained:
    path: Path
    losses: list[float]


@pytest.fixture(scope="session")
def smollm2_hf() -> Path:
    return smollm2_hf_dir()


@pytest.fixture(scope="session")
def lora_adapter(smollm2_hf, tmp_path_factory) -> Trained:
    out = tmp_path_factory.mktemp("lora-adapter")
    with torch_threads(threads_for_tests()):
        losses = make_lora_adapter(smollm2_hf, out, steps=3)
    return Trained(out, losses)


@pytest.fixture(scope="session")
def qat_checkpoint(smollm2_hf, tmp_path_factory) -> Trained:
    out = tmp_path_factory.mktemp("qat-checkpoint")
    with torch_threads(threads_for_tests()):
        losses = make_qat_checkpoint(smollm2_hf, out, steps=3)
    return Trained(out, losses)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str  # the OpenAI base_url: http://127.0.0.1:<port>/v1
    key: str
    model: str


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """llama-cpp-python's own server (`python -m llama_cpp.server`) on a free port, with an API key."""
    import httpx

    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf_path()),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
               "--n_threads", str(threads_for_tests() or 2),
               "--model_alias", "smollm2", "--api_key", SERVER_KEY, "--verbose", "False"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/v1/models", headers={"Authorization": f"Bearer {SERVER_KEY}"},
                             timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not come up in 90 s: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield Server(url=f"{base}/v1", key=SERVER_KEY, model="smollm2")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
