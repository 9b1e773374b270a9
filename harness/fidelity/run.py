"""A fidelity run: candidates against a reference on the same teacher-forced answer tokens.

1. The texts are rendered with the REFERENCE model's chat template and tokenized by its tokenizer; the
   answer's tokens are those that start inside the final assistant message (content and end of turn).
2. Every candidate must read those texts as the same token ids, over a vocabulary of the same size: this is
   checked for all candidates before any logits are computed, and a mismatch is a ConfigError naming both
   models (a KL between distributions over different vocabularies means nothing).
3. Then one candidate at a time, one text at a time: the reference's and the candidate's logits at the
   answer positions give per-token KL, top-1 agreement and log-likelihoods, and only those are kept.
   The reference stays loaded and computes each text again for each candidate, so at most two models and
   one text's logits are in memory at once.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from ..errors import ConfigError
from ..stats.fidelity import (
    TOKEN_COLUMNS,
    fidelity_figures,
    perplexity_figures,
    text_summaries,
    token_figures,
    token_log_likelihood,
)
from .result import (
    FidelityResult,
    FidelitySettings,
    ModelFidelity,
    PerplexityResult,
    ReferenceFigures,
    SourceInfo,
    TextRow,
)
from .scorers import TokenScorer, answer_positions, open_scorer
from .texts import TextSource, load_chat_file, load_examples, load_texts

Progress = Callable[[str], None]
FIGURES = ("mean_kl", "mean_kl_ci", "p99_kl", "p99_kl_ci", "top1", "top1_ci", "perplexity", "perplexity_ci")


@dataclass
class PreparedText:
    id: str
    text: str  # rendered by the reference's chat template
    ids: list[int]
    positions: list[int]  # indices of the answer's tokens in `ids`

    @property
    def rows(self) -> list[int]:
        return [p - 1 for p in self.positions]

    @property
    def targets(self) -> list[int]:
        return [self.ids[p] for p in self.positions]


def prepare_texts(scorer: TokenScorer, source: TextSource, max_context: int | None) -> list[PreparedText]:
    """Render and tokenize each text with `scorer`; texts with no answer token or longer than `max_context`
    tokens are counted in `source.skipped`."""
    prepared = []
    for item in source.texts:
        text, span = scorer.answer_span(item.messages)
        ids, offsets = scorer.encode(text)
        positions = answer_positions(offsets, span)
        if not positions:
            source.skip("no answer tokens")
        elif max_context is not None and len(ids) > max_context:
            source.skip(f"longer than {max_context} tokens")
        else:
            prepared.append(PreparedText(item.id, text, ids, positions))
    return prepared


def check_tokenizer(reference: TokenScorer, candidate: TokenScorer, texts: list[PreparedText]) -> None:
    """Same vocabulary size and the same token ids for every text, else a one-line ConfigError."""
    if reference.vocab_size != candidate.vocab_size:
        raise ConfigError(f"tokenizers differ: '{candidate.model_id}' has a vocabulary of {candidate.vocab_size} "
                          f"tokens, the reference '{reference.model_id}' {reference.vocab_size}")
    for text in texts:
        ids, _ = candidate.encode(text.text)
        if ids != text.ids:
            at = next((i for i, (a, b) in enumerate(zip(ids, text.ids)) if a != b), min(len(ids), len(text.ids)))
            ours = text.ids[at] if at < len(text.ids) else "end"
            theirs = ids[at] if at < len(ids) else "end"
            raise ConfigError(f"tokenizers differ: '{candidate.model_id}' and the reference '{reference.model_id}' "
                              f"tokenize text '{text.id}' differently (token {at}: {theirs} vs {ours})")


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _interval(ci: list[float] | None) -> list[float] | None:
    return ci if ci is not None and all(math.isfinite(v) for v in ci) else None


def _scorer_for(model_id: str, entries: dict, models_path: Path) -> TokenScorer:
    if model_id not in entries:
        raise ConfigError(f"model '{model_id}' is not in {models_path} (known: {', '.join(sorted(entries))})")
    return open_scorer(entries[model_id])


def _prepare(scorer: TokenScorer, longest: int) -> None:
    prepare = getattr(scorer, "prepare", None)
    if prepare is not None:
        prepare(longest)


def compare_texts(reference: TokenScorer, candidate: TokenScorer, texts: list[PreparedText]) -> pd.DataFrame:
    """token_figures rows for every answer token of every text, one text's logits in memory at a time."""
    longest = max((len(t.ids) for t in texts), default=0)
    _prepare(reference, longest)
    _prepare(candidate, longest)
    frames = []
    for text in texts:
        ref = reference.logits(text.ids, text.rows)
        cand = candidate.logits(text.ids, text.rows)
        frames.append(token_figures(ref, cand, text.targets, text=text.id))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TOKEN_COLUMNS)


def _load_entries(models_path: Path, entries: dict | None) -> dict:
    if entries is not None:
        return entries
    from ..config import load_models

    return load_models(Path(models_path))


def run_fidelity(source: str | Path | TextSource, reference: str, candidates: list[str], *,
                 models_path: Path = Path("models.yaml"), entries: dict | None = None, limit: int | None = None,
                 root: Path | None = None, n_boot: int = 2000, seed: int = 0, confidence: float = 0.95,
                 kl_quantile: float = 0.99, command: str | None = None,
                 progress: Progress | None = None) -> FidelityResult:
    """Each of `candidates` (models.yaml ids) against `reference` on the answers of `source` (a suite name
    or file, a chat JSONL file, or a TextSource)."""
    started = time.perf_counter()
    say = progress or (lambda message: None)
    if not candidates:
        raise ConfigError("give at least one candidate model to compare with the reference", key="models")
    duplicates = sorted({c for c in candidates if candidates.count(c) > 1})
    if duplicates:
        raise ConfigError(f"model '{duplicates[0]}' is listed twice", key="models")
    entries = _load_entries(models_path, entries)
    for model_id in [reference, *candidates]:
        if model_id not in entries:
            raise ConfigError(f"model '{model_id}' is not in {models_path} (known: {', '.join(sorted(entries))})")
    texts_source = source if isinstance(source, TextSource) else load_texts(source, root, limit)
    say(texts_source.describe())
    alpha = 1.0 - confidence

    ref_scorer = _scorer_for(reference, entries, models_path)
    try:
        # Tokenizers first, for every candidate, before any logits: a mismatch is bad input and says so at once.
        limits = [ref_scorer.max_context]
        opened: list[TokenScorer] = []
        try:
            for model_id in candidates:
                opened.append(_scorer_for(model_id, entries, models_path))
            limits += [s.max_context for s in opened]
            context = min((n for n in limits if n), default=None)
            texts = prepare_texts(ref_scorer, texts_source, context)
            if not texts:
                raise ConfigError(f"nothing to score: {texts_source.describe()}", path=texts_source.path)
            for scorer in opened:
                check_tokenizer(ref_scorer, scorer, texts)
            sizes = {s.model_id: s.size_mib for s in opened}
            kinds = {s.model_id: s.kind for s in opened}
        finally:
            for scorer in opened:
                scorer.close()
        say(f"{len(texts)} texts, {sum(len(t.positions) for t in texts)} answer tokens; "
            f"tokenizers match the reference '{reference}'")

        models, rows, reference_figures = [], [], None
        for model_id in candidates:
            t0 = time.perf_counter()
            candidate = _scorer_for(model_id, entries, models_path)
            try:
                tokens = compare_texts(ref_scorer, candidate, texts)
            finally:
                candidate.close()
            figures = fidelity_figures(tokens, n_boot=n_boot, seed=seed, alpha=alpha, quantile=kl_quantile)
            seconds = time.perf_counter() - t0
            if reference_figures is None:  # the reference's log-likelihoods are the same in every pass
                reference_figures = ReferenceFigures(
                    id=reference, kind=ref_scorer.kind, size_mib=ref_scorer.size_mib, n_texts=figures["n_texts"],
                    n_tokens=figures["n_tokens"], perplexity=_finite(figures["reference_perplexity"]),
                    perplexity_ci=_interval(figures["reference_perplexity_ci"]))
            values = {name: (_interval if name.endswith("_ci") else _finite)(figures[name]) for name in FIGURES}
            reasons = dict(figures["reasons"])
            for name in FIGURES:
                if values[name] is None and figures[name] is not None:
                    reasons[name] = ("not finite: the candidate gives probability 0 to a token the reference "
                                     "does not, or the perplexity overflows")
            models.append(ModelFidelity(
                id=model_id, kind=kinds[model_id], size_mib=sizes[model_id], n_texts=figures["n_texts"],
                n_tokens=figures["n_tokens"], seconds=round(seconds, 2), reasons=reasons, **values))
            rows += [TextRow(model=model_id, **row) for row in text_summaries(tokens).to_dict("records")]
            say(f"{model_id}: mean KL {models[-1].mean_kl}, top-1 {models[-1].top1}, "
                f"perplexity {models[-1].perplexity} ({seconds:.1f} s)")
    finally:
        ref_scorer.close()

    return FidelityResult(
        created_at=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source=SourceInfo(kind=texts_source.kind, name=texts_source.name, path=texts_source.path,
                          sha256=texts_source.sha256, read=texts_source.read, scored=len(texts),
                          skipped=dict(texts_source.skipped)),
        reference=reference_figures, models=models, texts=rows,
        settings=FidelitySettings(n_boot=n_boot, seed=seed, confidence=confidence, kl_quantile=kl_quantile),
        wall_time_s=round(time.perf_counter() - started, 2), command=command)


def heldout_perplexity(model: str | TokenScorer, examples: str | Path | list | TextSource, *,
                       models_path: Path = Path("models.yaml"), entries: dict | None = None,
                       limit: int | None = None, n_boot: int = 2000, seed: int = 0,
                       confidence: float = 0.95) -> PerplexityResult:
    """One model's perplexity on the answers of held-out chat examples (answers only; the conversation
    before each final answer is context).

    `model` is a models.yaml id or a scorer (e.g. `TransformersScorer(id, model, tokenizer)` for a model a
    training recipe holds in memory); `examples` a chat JSONL file, a list of message lists (a recipe's
    held-out slice) or a TextSource. Base and SFT measured on the same examples give the training manifest's
    base-against-SFT figure.
    """
    if isinstance(examples, TextSource):
        source = examples
    elif isinstance(examples, (str, Path)):
        source = load_chat_file(Path(examples), limit)
    else:
        source = load_examples(list(examples)[:limit] if limit else list(examples))
    owned = not isinstance(model, TokenScorer)
    scorer = _scorer_for(model, _load_entries(models_path, entries), models_path) if owned else model
    try:
        texts = prepare_texts(scorer, source, scorer.max_context)
        _prepare(scorer, max((len(t.ids) for t in texts), default=0))
        frames = [pd.DataFrame({"text": text.id, "ll": token_log_likelihood(scorer.logits(text.ids, text.rows),
                                                                             text.targets)}) for text in texts]
    finally:
        if owned:
            scorer.close()
    tokens = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"text": [], "ll": []})
    figures = perplexity_figures(tokens, n_boot=n_boot, seed=seed, alpha=1.0 - confidence)
    return PerplexityResult(
        model=scorer.model_id,
        source=SourceInfo(kind=source.kind, name=source.name, path=source.path, sha256=source.sha256,
                          read=source.read, scored=len(texts), skipped=dict(source.skipped)),
        n_texts=figures["n_texts"], n_tokens=figures["n_tokens"], mean_nll=_finite(figures["mean_nll"]),
        perplexity=_finite(figures["perplexity"]), perplexity_ci=_interval(figures["perplexity_ci"]),
        confidence=confidence, seed=seed, reasons=figures["reasons"])
