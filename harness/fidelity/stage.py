"""Fidelity as a stage of a run: after the answers, each candidate of the run against its reference.

A suite asks for it with `fidelity: {reference: MODEL_ID, texts: suite|FILE|SUITE, limit: N}` (or `bench run
--fidelity-reference ID`); `models` narrows the candidates (default: every other model of the run) and
`references` gives a candidate a reference of its own (an export against its parent, in one run).

The store keeps, per candidate and reference, the per-token figures of every text (KL, top-1 agreement, both
log-likelihoods), or the reason there are none: a kind that gives no logits (an API model), a tokenizer that
differs from the reference's. Results compute the figures and their intervals from those rows
(harness.results.fidelity), so `bench report` recomputes them like everything else, and a resumed run scores
only the candidates it had not finished.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import BenchError, ConfigError
from ..files import stable_hash
from ..stats.fidelity import token_figures
from .run import check_tokenizer, prepare_texts
from .scorers import open_scorer
from .texts import TextSource, case_texts, load_texts

Log = Callable[[str], None]


def plan_fidelity(suite, reference: str | None, entries: dict, model_ids: list[str], path: str | None = None):
    """The suite with `reference` (--fidelity-reference) as its fidelity reference when given, its fidelity
    settings checked against the models file and the run's models; a bad id is a ConfigError naming the suite
    file and the key."""
    from ..config import FidelitySettings

    settings = suite.fidelity
    if reference:
        settings = settings.model_copy(update={"reference": reference}) if settings else \
            FidelitySettings(reference=reference)
        suite = suite.model_copy(update={"fidelity": settings})
    if settings is None:
        return suite
    known = ", ".join(sorted(entries))
    ids = [("--fidelity-reference" if reference else "fidelity.reference", settings.reference),
           *((f"fidelity.references.{c}", r) for c, r in settings.references.items())]
    for key, model_id in ids:
        if model_id not in entries:
            raise ConfigError(f"model '{model_id}' is not in the models file (known: {known})",
                              path=None if key.startswith("--") else path, key=key)
    named = [("fidelity.models", c) for c in settings.models or []] + \
        [(f"fidelity.references.{c}", c) for c in settings.references]
    for key, candidate in named:
        if candidate not in model_ids:
            raise ConfigError(f"'{candidate}' is not one of the run's models ({', '.join(model_ids)})", path=path,
                              key=key)
    return suite


def fidelity_pairs(settings, model_ids: list[str]) -> list[tuple[str, str]]:
    """(candidate, reference) for every candidate; a model is never compared with itself."""
    from ..results.fidelity import fidelity_pairs as pairs

    return pairs(settings.model_dump(), model_ids)


def fidelity_texts(settings, cases: list, system_prompt: str | None, suite_name: str) -> TextSource:
    if settings.texts == "suite":
        return case_texts(cases, system_prompt, suite_name, limit=settings.limit)
    return load_texts(settings.texts, Path.cwd(), settings.limit)


def texts_hash(source: TextSource) -> str:
    """What was scored, exactly: a resumed run reuses stored figures only for the same texts."""
    return stable_hash([[t.id, t.messages] for t in source.texts])


def fidelity_stage(plan, store, run_id: str, log: Log, fingerprints: dict[str, str] | None = None) -> None:
    """Score every (candidate, reference) pair of the plan's fidelity settings that the store does not hold
    for this run; a pair another run scored on the same texts with the same files (their fingerprints) is
    taken from the store, like a cached answer."""
    settings = plan.suite.fidelity
    source = fidelity_texts(settings, plan.cases, plan.suite.system_prompt, plan.suite.name)
    fingerprint = texts_hash(source)
    done = {(r["model_id"], r["reference"]) for r in store.fidelity_rows(run_id)
            if r["source"].get("texts_hash") == fingerprint}
    todo = [p for p in fidelity_pairs(settings, plan.model_ids) if p not in done]
    if not todo:
        return
    log(f"fidelity: {source.describe()}; {len(todo)} candidate(s)")
    known = dict(fingerprints or {})
    pending = []
    for candidate, reference in todo:
        key = stable_hash([_fingerprint(candidate, plan.entries, known), _fingerprint(reference, plan.entries, known),
                           fingerprint])
        cached = store.cached_fidelity(key)
        if cached is not None:
            store.save_fidelity(run_id, {**cached, "model_id": candidate, "reference": reference})
            log(_said(cached) + " (from the store)")
        else:
            pending.append((candidate, reference))
            known[("key", candidate, reference)] = key
    if pending:
        for row in score_pairs(pending, plan.entries, source, fingerprint):
            store.save_fidelity(run_id, {**row, "cache_key": known[("key", row["model_id"], row["reference"])]})
            log(_said(row))


def _fingerprint(model_id: str, entries: dict, known: dict) -> str:
    """What the model is exactly (its file's hash, ...), as its adapter says; adapters are made only for models
    the run did not already fingerprint."""
    if model_id not in known:
        from ..registry import create_adapter

        adapter = create_adapter(entries[model_id])
        try:
            known[model_id] = adapter.fingerprint()
        finally:
            adapter.close()
    return known[model_id]


def score_pairs(pairs: list[tuple[str, str]], entries: dict, source: TextSource, fingerprint: str) -> list[dict]:
    """One row per (candidate, reference) pair: the per-token figures of each text, or the reason there are
    none. Every model of the pairs is loaded at once and reads each text once, whatever the number of pairs
    it is in (an export is its parent's candidate and its children's reference): one text's logits of each
    model are in memory at a time."""
    started = time.perf_counter()
    scorers, failed = {}, {}
    rows = {pair: {"model_id": pair[0], "reference": pair[1]} for pair in pairs}
    try:
        for model_id in dict.fromkeys(m for pair in pairs for m in (pair[1], pair[0])):
            try:
                scorers[model_id] = open_scorer(entries[model_id])
            except BenchError as exc:
                failed[model_id] = str(exc)
        prepared = {}  # reference -> its texts, rendered and tokenized by the reference
        for (candidate, reference), row in rows.items():
            if reference in failed or candidate in failed:
                row["reason"] = (f"the reference '{reference}' gives no logits: {failed[reference]}"
                                 if reference in failed else failed[candidate])
                continue
            ref, scorer = scorers[reference], scorers[candidate]
            row.update(kind=scorer.kind, size_mib=scorer.size_mib, reference_kind=ref.kind,
                       reference_size_mib=ref.size_mib)
            try:
                if reference not in prepared:
                    context = min((s.max_context for s in scorers.values() if s.max_context), default=None)
                    own = copy.deepcopy(source)  # its `skipped` counts what this reference could not score
                    prepared[reference] = (own, prepare_texts(ref, own, context) or None)
                if prepared[reference][1] is None:
                    raise ConfigError(f"nothing to score: {prepared[reference][0].describe()}")
                check_tokenizer(ref, scorer, prepared[reference][1])
                row["texts"] = []
            except BenchError as exc:
                row["reason"] = str(exc)
        _score_texts(scorers, rows, {r: texts for r, (_, texts) in prepared.items() if texts})
    finally:
        for scorer in scorers.values():
            scorer.close()
    seconds = round(time.perf_counter() - started, 2)
    for (_, reference), row in rows.items():
        row["source"] = _source_info(prepared[reference][0] if reference in prepared else source, fingerprint)
        row["seconds"] = seconds
    return list(rows.values())


def _score_texts(scorers: dict, rows: dict, prepared: dict) -> None:
    """Fill each scorable pair's `texts` with its per-token figures, text by text."""
    live = [pair for pair, row in rows.items() if "texts" in row]
    if not live:
        return
    longest = max(len(t.ids) for texts in prepared.values() for t in texts)
    for model_id in dict.fromkeys(m for pair in live for m in pair):
        prepare = getattr(scorers[model_id], "prepare", None)
        if prepare is not None:
            prepare(longest)
    order = list(dict.fromkeys(t.id for texts in prepared.values() for t in texts))
    by_id = {reference: {t.id: t for t in texts} for reference, texts in prepared.items()}
    for text_id in order:
        logits: dict[tuple, Any] = {}  # (model, ids, rows) -> this text's logits: each model reads it once

        def of(model_id, text):
            key = (model_id, tuple(text.ids), tuple(text.rows))
            if key not in logits:
                logits[key] = scorers[model_id].logits(text.ids, text.rows)
            return logits[key]

        for candidate, reference in live:
            text = by_id[reference].get(text_id)
            if text is None:
                continue
            frame = token_figures(of(reference, text), of(candidate, text), text.targets, text=text.id)
            rows[(candidate, reference)]["texts"].append(
                {"id": str(text.id), "kl": frame["kl"].tolist(), "top1": frame["top1"].astype(int).tolist(),
                 "ll_reference": frame["ll_reference"].tolist(), "ll_candidate": frame["ll_candidate"].tolist()})


def _source_info(source: TextSource, fingerprint: str) -> dict[str, Any]:
    return {"kind": source.kind, "name": source.name, "path": source.path, "sha256": source.sha256,
            # every text read is either scored or counted under one reason in `skipped`
            "read": source.read, "scored": source.read - sum(source.skipped.values()),
            "skipped": dict(source.skipped), "texts_hash": fingerprint}


def _said(row: dict[str, Any]) -> str:
    head = f"fidelity: {row['model_id']} against {row['reference']}"
    if row.get("reason"):
        return f"{head}: no figures ({row['reason']})"
    kl = [v for text in row["texts"] for v in text["kl"]]
    return f"{head}: {len(row['texts'])} texts, {len(kl)} tokens, mean KL {sum(kl) / len(kl):.4g} ({row['seconds']} s)"
