"""Chat examples to token ids with labels on the assistant's answers only, and the held-out loss.

The labels come from character spans: the chat template is rendered once, each assistant message's content
(and the end-of-turn marker after it) is located in that text, and a token is trained on when it starts
inside such a span. This works for any chat template, with no generation markers needed in it.
"""

from __future__ import annotations

import random
from typing import Any

IGNORE = -100


def assistant_spans(tokenizer, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of each assistant turn (content + end of turn)."""
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
        through = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        if not text.startswith(before) or not text.startswith(through):
            raise ValueError("the chat template does not render a conversation prefix as a prefix of the whole")
        spans.append((len(before), len(through)))
    return text, spans


def tokenize_example(tokenizer, messages: list[dict[str, str]], max_length: int) -> dict[str, list[int]]:
    text, spans = assistant_spans(tokenizer, messages)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    input_ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    labels = [token if any(start <= begin < end for start, end in spans) else IGNORE
              for token, (begin, _) in zip(input_ids, offsets)]
    # Keep the start: the system prompt and the question are what the answer is conditioned on.
    return {"input_ids": input_ids[:max_length], "labels": labels[:max_length]}


def tokenize_all(tokenizer, examples: list[list[dict[str, str]]], max_length: int) -> list[dict[str, list[int]]]:
    rows = [tokenize_example(tokenizer, messages, max_length) for messages in examples]
    # An example whose answer starts past max_length would contribute nothing but padding.
    return [row for row in rows if any(label != IGNORE for label in row["labels"])]


def split_held_out(examples: list[Any], n_held_out: int, seed: int) -> tuple[list[Any], list[Any]]:
    """(train, held out): a seeded shuffle, so the held-out loss is measured on examples never trained on."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_held_out = min(n_held_out, max(len(examples) - 1, 0))
    held = set(order[:n_held_out])
    return ([e for i, e in enumerate(examples) if i not in held], [e for i, e in enumerate(examples) if i in held])


def pad_batch(rows: list[dict[str, list[int]]], pad_id: int):
    import torch

    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n] = torch.tensor(r["input_ids"])
        labels[i, :n] = torch.tensor(r["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def mean_answer_loss(model, rows: list[dict[str, list[int]]], pad_id: int, batch_size: int = 8,
                     mixed_precision: str = "no") -> float | None:
    """Token-weighted mean cross-entropy over the assistant tokens of `rows` (None for no rows), computed
    under the same autocast as training."""
    import contextlib

    import torch

    if not rows:
        return None
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, tokens = 0.0, 0
    autocast = (torch.autocast(device.type, dtype={"bf16": torch.bfloat16, "fp16": torch.float16}[mixed_precision])
                if mixed_precision in ("bf16", "fp16") else contextlib.nullcontext())
    with torch.no_grad(), autocast:
        for start in range(0, len(rows), batch_size):
            batch = {k: v.to(device) for k, v in pad_batch(rows[start:start + batch_size], pad_id).items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
            shifted = batch["labels"][:, 1:]
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)),
                                                     shifted.reshape(-1), ignore_index=IGNORE, reduction="sum")
            total += loss.item()
            tokens += int((shifted != IGNORE).sum())
    if was_training:
        model.train()
    return total / max(tokens, 1)
