"""The run's fidelity section: each candidate's KL divergence, top-1 agreement and perplexity against its
reference, computed from the per-token rows the fidelity stage stored (harness.fidelity.stage).

The figures pool tokens; their intervals are bootstraps over texts (harness.stats.fidelity). A candidate the
stage could not score (a kind without logits, a different tokenizer) is listed with null figures and the
reason.
"""

from __future__ import annotations

from typing import Any

import math

from pydantic import Field

from .types import Figure, Interval, StrictModel

FIGURES = ("mean_kl", "mean_kl_ci", "p99_kl", "p99_kl_ci", "top1", "top1_ci", "perplexity", "perplexity_ci")


class FidelityModel(StrictModel):
    id: str
    reference: str = Field(description="the model this one is compared with")
    kind: str | None = None
    size_mib: Figure = None
    n_texts: int = Field(0, description="texts scored (answers teacher-forced)")
    n_tokens: int = Field(0, description="answer tokens scored, over all texts")
    mean_kl: Figure = Field(None, description="mean KL(reference || model) per token, nats")
    mean_kl_ci: Interval = Field(None, description="95% bootstrap interval over texts")
    p99_kl: Figure = Field(None, description="99th percentile of the per-token KL")
    p99_kl_ci: Interval = None
    top1: Figure = Field(None, description="share of tokens where both models' most likely next token agree")
    top1_ci: Interval = None
    perplexity: Figure = Field(None, description="this model's perplexity on the answers")
    perplexity_ci: Interval = None
    seconds: Figure = Field(None, description="wall time of the scoring, shared by the pairs scored together")
    reason: str | None = Field(None, description="why the model has no figures (no logits, another tokenizer)")
    reasons: dict[str, str] = Field({}, description="figure -> why it is null")


class FidelityReference(StrictModel):
    id: str
    kind: str | None = None
    size_mib: Figure = None
    n_texts: int = 0
    n_tokens: int = 0
    perplexity: Figure = Field(None, description="the reference's own perplexity on the same answers")
    perplexity_ci: Interval = None


class FidelitySource(StrictModel):
    kind: str
    name: str
    path: str | None = None
    sha256: str | None = None
    read: int = 0
    scored: int | None = Field(None, description="texts scored; the others are counted in skipped")
    skipped: dict[str, int] = {}


class FidelitySection(StrictModel):
    """Token probabilities of the run's models against a reference (no judge): `fidelity` in the suite, or
    `bench run --fidelity-reference`."""

    reference: str = Field(description="the run's reference (a candidate may have its own, see models)")
    texts: str = Field("suite", description="'suite' (the run's cases with their reference answers) or a file")
    source: FidelitySource | None = None
    references: list[FidelityReference] = []
    models: list[FidelityModel] = []
    confidence: float = 0.95
    n_boot: int = 0
    seed: int = 0

    def model(self, model_id: str, reference: str | None = None) -> FidelityModel | None:
        return next((m for m in self.models if m.id == model_id and reference in (None, m.reference)), None)


def token_frame(texts: list[dict[str, Any]]):
    """The stored per-text token lists as `token_figures` rows (a DataFrame)."""
    import numpy as np
    import pandas as pd

    from ..stats.fidelity import TOKEN_COLUMNS

    if not texts:
        return pd.DataFrame(columns=TOKEN_COLUMNS)
    frames = [pd.DataFrame({"text": t["id"], "kl": np.asarray(t["kl"], dtype=float),
                            "top1": np.asarray(t["top1"], dtype=bool),
                            "ll_reference": np.asarray(t["ll_reference"], dtype=float),
                            "ll_candidate": np.asarray(t["ll_candidate"], dtype=float)}) for t in texts]
    return pd.concat(frames, ignore_index=True)[TOKEN_COLUMNS]


def fidelity_pairs(settings: dict[str, Any], model_ids: list[str]) -> list[tuple[str, str]]:
    """(candidate, reference) for every candidate the settings name; never a model against itself."""
    candidates = settings.get("models")
    if candidates is None:
        candidates = [m for m in model_ids if m != settings["reference"]]
    references = settings.get("references") or {}
    return [(c, references.get(c, settings["reference"])) for c in candidates
            if references.get(c, settings["reference"]) != c]


def fidelity_section(settings: dict | None, model_ids: list[str], rows: list[dict[str, Any]], *, n_boot: int,
                     seed: int) -> dict[str, Any] | None:
    """The `fidelity` section of Results from the run's fidelity settings, its models and the stored rows
    (None without settings), in the order of the settings' pairs. A pair without a row (the stage did not
    finish) is listed with the reason; a row for a pair the settings do not name is ignored."""
    if not settings:
        return None
    from ..stats.fidelity import fidelity_figures

    stored = {(r["model_id"], r["reference"]): r for r in rows}
    models, references, source = [], {}, None
    for candidate, reference in fidelity_pairs(settings, model_ids):
        row = stored.get((candidate, reference))
        if row is None:
            models.append({"id": candidate, "reference": reference, "reason": "not scored (the fidelity stage did "
                           "not finish: run the same command again to resume it)", "reasons": _not_measured()})
            continue
        source = source or {k: v for k, v in row["source"].items() if k != "texts_hash"}
        entry: dict[str, Any] = {"id": candidate, "reference": reference, "kind": row["kind"],
                                 "size_mib": row["size_mib"], "seconds": row["seconds"]}
        if row.get("reason") or not row.get("texts"):
            entry.update(reason=row.get("reason") or "no texts were scored", reasons=_not_measured())
            models.append(entry)
            continue
        figures = fidelity_figures(token_frame(row["texts"]), n_boot=n_boot, seed=seed)
        entry.update({name: _finite(figures[name]) for name in FIGURES}, n_texts=figures["n_texts"],
                     n_tokens=figures["n_tokens"], reasons=_reasons(figures))
        models.append(entry)
        references.setdefault(reference, {
            "id": reference, "kind": row["reference_kind"], "size_mib": row["reference_size_mib"],
            "n_texts": figures["n_texts"], "n_tokens": figures["n_tokens"],
            "perplexity": _finite(figures["reference_perplexity"]),
            "perplexity_ci": _finite(figures["reference_perplexity_ci"])})
    return {"reference": settings["reference"], "texts": settings.get("texts") or "suite", "source": source,
            "references": list(references.values()), "models": models, "confidence": 0.95, "n_boot": n_boot,
            "seed": seed}


def _not_measured() -> dict[str, str]:
    return {name: "not measured" for name in FIGURES if not name.endswith("_ci")}


def _finite(value):
    """A figure or an interval, or None when any part of it is missing or not finite."""
    if value is None:
        return None
    parts = value if isinstance(value, (list, tuple)) else [value]
    return value if all(v is not None and math.isfinite(v) for v in parts) else None


def _reasons(figures: dict[str, Any]) -> dict[str, str]:
    reasons = {k: v for k, v in figures["reasons"].items() if not k.startswith("reference_")}
    for name in FIGURES:
        if figures[name] is not None and _finite(figures[name]) is None:
            reasons[name] = ("not finite: the model gives probability 0 to a token the reference does not, or the "
                             "perplexity overflows")
    return reasons
