"""Distil raw conversation logs into golden SBAR training examples with a teacher model.

    python -m training.distill --config training/configs/distill.yaml --teacher my-cloud-model

The teacher is any models.yaml entry or shorthand id (a cloud model, a local server, a GGUF file). The recipe reads the
logs (JSONL rows {conversation_id, role, text, timestamp}), orders each conversation by time, maps roles
(human -> user), drops repeated conversations, and asks the teacher to rewrite each one with the prompt in
training/sbar.py. Answers are validated strictly: a rejected answer is retried with the reason, at most
`max_retries` times, then counted and reported, never written. Skips (trivial conversations) are counted,
duplicate examples dropped, and the chat-format JSONL is written in one go (a crash leaves the old file).
A report with every count and every rejection lands beside it (<output>.report.json).
"""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.files import atomic_write_text
from training.common import config_dict, log, recipe_main, write_json
from training.sbar import (ANSWER_SCHEMA, DEFAULT_SYSTEM_PROMPT, InvalidAnswer, TeacherAnswer, retry_prompt,
                           rewrite_prompt, training_example, validate_answer)

ROLE_NAMES = {
    "user": {"human", "user", "patient", "customer", "client"},
    "assistant": {"assistant", "bot", "ai", "agent", "gpt", "model", "nurse", "clinician"},
    "system": {"system"},
}


@dataclass
class DistillConfig:
    raw_logs: str = "training/data/raw_logs.jsonl"
    output: str = "training/out/distilled.jsonl"
    teacher: str = "smollm2-135m"  # a models.yaml id or a shorthand id (openai/gpt-4.1-mini)
    models: str = "models.yaml"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_retries: int = 2  # after the first attempt; then the conversation is counted as failed
    max_tokens: int = 768
    temperature: float = 0.0
    constrained: bool = True  # pass the JSON schema to backends that can enforce it
    limit: int | None = None  # the first N conversations (after ordering and de-duplication)
    seed: int = 0


@dataclass
class Conversation:
    conversation_id: str
    turns: list[dict[str, str]]  # [{"role": "user"|"assistant"|"system", "content": ...}], merged per speaker

    def transcript(self) -> str:
        names = {"user": "Patient", "assistant": "Assistant", "system": "System"}
        return "\n".join(f"{names[t['role']]}: {t['content']}" for t in self.turns)


@dataclass
class Outcome:
    conversation_id: str
    status: str  # "written" | "skipped" | "failed" | "duplicate"
    attempts: int = 0
    answer: TeacherAnswer | None = None
    rejections: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- reading the logs

def normalise_role(role: str) -> str | None:
    folded = role.strip().lower()
    for canonical, names in ROLE_NAMES.items():
        if folded in names:
            return canonical
    return None


def _timestamp_key(value: Any, path: Path, lineno: int) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.timezone.utc)
            return stamp.timestamp()
    raise ConfigError(f"timestamp {value!r} is neither ISO 8601 nor a number", path=str(path), line=lineno,
                      key="timestamp")


def read_conversations(path: Path) -> list[Conversation]:
    """Rows grouped by conversation, ordered by time within it (file order breaks ties), conversations in
    the order of their first message; consecutive turns of one speaker are joined."""
    from harness.yamlfile import read_jsonl

    rows: dict[str, list[tuple[float, int, str, str]]] = {}
    for lineno, row in read_jsonl(Path(path), "file"):
        for key in ("conversation_id", "role", "text", "timestamp"):
            if key not in row:
                raise ConfigError("missing required field", path=str(path), line=lineno, key=key)
        unknown = sorted(set(row) - {"conversation_id", "role", "text", "timestamp"})
        if unknown:
            raise ConfigError("unknown key", path=str(path), line=lineno, key=unknown[0])
        if not isinstance(row["text"], str) or not isinstance(row["role"], str):
            raise ConfigError("'role' and 'text' must be strings", path=str(path), line=lineno)
        role = normalise_role(row["role"])
        if role is None:
            known = ", ".join(sorted(set().union(*ROLE_NAMES.values())))
            raise ConfigError(f"unknown role {row['role']!r} (known: {known})", path=str(path), line=lineno,
                              key="role")
        stamp = _timestamp_key(row["timestamp"], Path(path), lineno)
        rows.setdefault(str(row["conversation_id"]), []).append((stamp, lineno, role, row["text"].strip()))
    conversations = []
    for conversation_id, turns in sorted(rows.items(), key=lambda item: min(item[1])[:2]):
        merged: list[dict[str, str]] = []
        for _, _, role, text in sorted(turns):
            if not text:
                continue
            if merged and merged[-1]["role"] == role:
                merged[-1]["content"] += "\n" + text
            else:
                merged.append({"role": role, "content": text})
        conversations.append(Conversation(conversation_id, merged))
    return conversations


def drop_repeated(conversations: list[Conversation]) -> tuple[list[Conversation], list[str]]:
    """Conversations whose normalized turns repeat an earlier one's are dropped before the teacher sees them."""
    from harness.leakage import normalize

    seen: set[tuple] = set()
    kept, repeated = [], []
    for conversation in conversations:
        key = tuple((t["role"], normalize(t["content"])) for t in conversation.turns)
        if key in seen:
            repeated.append(conversation.conversation_id)
        else:
            seen.add(key)
            kept.append(conversation)
    return kept, repeated


# ---------------------------------------------------------------- the teacher

def build_teacher(models_path: Path, teacher_id: str):
    from harness.config import load_models, resolve_model
    from harness.registry import create_adapter

    path = Path(models_path)  # a shorthand id (openai/gpt-4.1-mini) needs no models file
    source = str(path) if path.exists() else f"{path} (no such file)"
    models = load_models(path, missing_ok=True)
    return create_adapter(resolve_model(teacher_id, models, source=source, role="teacher", key="teacher"))


def rewrite(teacher, conversation: Conversation, config: DistillConfig) -> Outcome:
    """Ask the teacher, validate, retry with the rejection at most `max_retries` times."""
    from harness.adapters.base import GenerationSettings

    outcome = Outcome(conversation.conversation_id, status="failed")
    transcript = conversation.transcript()
    if not any(t["role"] == "user" for t in conversation.turns):
        outcome.status, outcome.rejections = "skipped", ["no patient turn"]
        return outcome
    prompt = rewrite_prompt(transcript)
    schema = ANSWER_SCHEMA if config.constrained else None
    for attempt in range(config.max_retries + 1):
        outcome.attempts = attempt + 1
        settings = GenerationSettings(max_tokens=config.max_tokens, temperature=config.temperature,
                                      seed=config.seed + attempt)
        completion = teacher.generate([{"role": "user", "content": prompt}], settings, json_schema=schema)
        if completion.error:
            outcome.rejections.append(f"teacher error: {completion.error}")
            continue  # the same prompt again: the request failed, not the answer
        try:
            answer = validate_answer(completion.text)
        except InvalidAnswer as rejection:
            outcome.rejections.append(str(rejection))
            prompt = retry_prompt(transcript, str(rejection))
            continue
        outcome.answer = answer
        outcome.status = "skipped" if answer.skip else "written"
        return outcome
    return outcome


def distill(config: DistillConfig, teacher=None) -> dict[str, Any]:
    """Run the recipe; returns the report that is also written beside the output."""
    from harness.leakage import normalize

    conversations = read_conversations(Path(config.raw_logs))
    total = len(conversations)
    conversations, repeated = drop_repeated(conversations)
    if config.limit is not None:
        conversations = conversations[: config.limit]
    teacher = teacher or build_teacher(Path(config.models), config.teacher)
    log(f"{total} conversations, {len(repeated)} repeated; rewriting {len(conversations)} with '{teacher.model_id}'")
    workers = 1 if getattr(teacher, "local", False) else max(1, getattr(teacher, "max_concurrency", 1))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(lambda c: rewrite(teacher, c, config), conversations))
    finally:
        teacher.close()

    examples, seen = [], set()
    for outcome in outcomes:
        if outcome.status != "written":
            continue
        key = normalize(outcome.answer.patient)
        if key in seen:
            outcome.status = "duplicate"
            continue
        seen.add(key)
        examples.append(training_example(outcome.answer, config.system_prompt))

    output = Path(config.output)
    atomic_write_text(output, "".join(json.dumps(example, ensure_ascii=False) + "\n" for example in examples))

    def count(status: str) -> int:
        return sum(o.status == status for o in outcomes)

    report = {
        "output": str(output), "teacher": teacher.model_id, "conversations": total,
        "repeated_in_logs": len(repeated), "rewritten": len(outcomes), "written": len(examples),
        "skipped": count("skipped"), "failed": count("failed"), "duplicates": count("duplicate"),
        "teacher_calls": sum(o.attempts for o in outcomes),
        "retries": sum(max(o.attempts - 1, 0) for o in outcomes),
        "failures": [{"conversation_id": o.conversation_id, "attempts": o.attempts, "rejections": o.rejections}
                     for o in outcomes if o.status == "failed"],
        "skips": [{"conversation_id": o.conversation_id,
                   "reason": o.answer.reason if o.answer else "; ".join(o.rejections)}
                  for o in outcomes if o.status == "skipped"],
        "config": config_dict(config),
    }
    write_json(output.with_name(output.name + ".report.json"), report)
    log(f"wrote {len(examples)} examples to {output}: {report['skipped']} skipped, {report['failed']} failed "
        f"after {config.max_retries} retries, {report['duplicates']} duplicates, {report['retries']} retries")
    return report


def main(argv: list[str] | None = None) -> int:
    return recipe_main(DistillConfig, distill, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
