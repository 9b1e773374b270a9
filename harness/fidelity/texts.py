"""The texts a fidelity run scores: conversations that end with an answer to teacher-force.

Two sources:
- a suite: each case's messages (behind the suite's system prompt, as a run sends them) followed by the
  case's `reference` as the assistant's answer. A case without a reference has nothing to score: it is
  counted under `skipped`, never dropped silently.
- a JSONL file of chat examples, one `{"messages": [...]}` per line (an optional "id"), whose last message
  is the assistant's answer (the training data's format, e.g. training/data/sbar_train.jsonl).

Only the final assistant message is scored; everything before it, earlier assistant turns included, is
the context it is conditioned on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import find_suite, load_suite
from ..yamlfile import read_jsonl
from ..errors import ConfigError

ROLES = ("system", "developer", "user", "assistant")


@dataclass(frozen=True)
class ScoredText:
    id: str
    messages: list[dict[str, str]]  # the last one is the assistant answer that is scored


@dataclass
class TextSource:
    kind: str  # "suite" | "file" | "examples"
    name: str
    path: str | None
    texts: list[ScoredText]
    read: int  # rows or cases read (up to the limit)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    sha256: str | None = None  # of the file the texts came from

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def describe(self) -> str:
        skipped = "".join(f", {n} skipped ({reason})" for reason, n in self.skipped.items())
        return f"{self.kind} {self.name}: {self.read} read, {len(self.texts)} to score{skipped}"


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_messages(messages: Any, *, path: str | None, line: int | None) -> list[dict[str, str]]:
    """The messages of one example, validated: roles known, content text, ends with a non-empty assistant
    answer that has something before it."""
    if not isinstance(messages, list) or not messages:
        raise ConfigError('expected "messages": a non-empty list of {"role", "content"}', path=path, line=line,
                          key="messages")
    clean = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise ConfigError('expected {"role", "content"} with text content', path=path, line=line,
                              key=f"messages.{i}")
        if message.get("role") not in ROLES:
            raise ConfigError(f"unknown role {message.get('role')!r} (known: {', '.join(ROLES)})", path=path,
                              line=line, key=f"messages.{i}.role")
        clean.append({"role": message["role"], "content": message["content"]})
    if clean[-1]["role"] != "assistant" or not clean[-1]["content"].strip():
        raise ConfigError("the last message must be the assistant's answer (non-empty)", path=path, line=line,
                          key=f"messages.{len(clean) - 1}")
    if len(clean) < 2:
        raise ConfigError("an answer needs a conversation before it", path=path, line=line, key="messages")
    return clean


def load_chat_file(path: Path, limit: int | None = None) -> TextSource:
    """Chat examples from a JSONL file; a bad row is a ConfigError naming the file and line."""
    path = Path(path)
    source = TextSource("file", path.stem, str(path), [], read=0)
    seen: dict[str, int] = {}
    for lineno, row in read_jsonl(path, "file"):
        if limit is not None and len(source.texts) >= limit:
            break
        source.read += 1
        messages = check_messages(row.get("messages"), path=str(path), line=lineno)
        text_id = str(row.get("id") or f"line-{lineno}")
        if text_id in seen:
            raise ConfigError(f"duplicate id '{text_id}' (first on line {seen[text_id]})", path=str(path),
                              line=lineno, key="id")
        seen[text_id] = lineno
        source.texts.append(ScoredText(text_id, messages))
    if source.read == 0:
        raise ConfigError("no examples", path=str(path))
    source.sha256 = _file_sha256(path)
    return source


def load_suite_texts(name_or_path: str, root: Path | None = None, limit: int | None = None) -> TextSource:
    """A suite's cases with their references as the answers; cases without one are counted as skipped."""
    suite_path = find_suite(name_or_path, Path(root or Path.cwd()))
    loaded = load_suite(suite_path)
    suite = loaded.suite
    return case_texts(loaded.cases, suite.system_prompt, suite.name, str(suite_path),
                      _file_sha256(suite_path.parent / suite.cases), limit)


def case_texts(cases: list, system_prompt: str | None, name: str, path: str | None = None,
               sha256: str | None = None, limit: int | None = None) -> TextSource:
    """Cases (harness.cases.Case) as a run sends them, the suite's system prompt first, each followed by its
    reference as the answer; a case without a reference is counted under `skipped`."""
    source = TextSource("suite", name, path, [], read=0, sha256=sha256)
    for case in cases:
        if limit is not None and len(source.texts) >= limit:
            break
        source.read += 1
        if not (case.reference or "").strip():
            source.skip("no reference answer")
            continue
        messages = case.chat()
        if system_prompt and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": system_prompt}, *messages]
        source.texts.append(ScoredText(case.id, [*messages, {"role": "assistant", "content": case.reference}]))
    return source


def load_examples(examples: list[list[dict[str, str]]], name: str = "examples") -> TextSource:
    """Chat examples already in memory (e.g. a training recipe's held-out slice)."""
    texts = [ScoredText(f"example-{i + 1}", check_messages(m, path=name, line=None)) for i, m in enumerate(examples)]
    return TextSource("examples", name, None, texts, read=len(texts))


def load_texts(source: str | Path, root: Path | None = None, limit: int | None = None) -> TextSource:
    """A JSONL file of chat examples when `source` is one, else a suite name or suite file."""
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1, not {limit}", key="limit")
    path = Path(source)
    if path.suffix == ".jsonl":
        if not path.is_file():
            raise ConfigError("file not found", path=str(path))
        return load_chat_file(path, limit)
    return load_suite_texts(str(source), root, limit)
