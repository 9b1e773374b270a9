"""Quantization fidelity from token probabilities: KL divergence, top-1 agreement, perplexity.

A candidate model (a quantized file) and a reference model (its full-precision parent) read the same
tokens, teacher-forced. At each scored position both give a next-token distribution; the figures are

- KL(reference || candidate) = sum_v p_ref(v) * (log p_ref(v) - log p_cand(v)), in nats, over the whole
  vocabulary (what llama.cpp's `perplexity --kl-divergence` reports);
- top-1 agreement: whether both put their highest logit on the same token;
- each model's log-likelihood of the actual next token; perplexity = exp(mean negative log-likelihood).

Per model, the figures pool tokens (a mean over every scored token, as llama.cpp does), and their
intervals are percentile bootstraps over TEXTS: the tokens of one text are not independent, so texts are
resampled whole and each resample pools its texts' tokens again. All functions are pure; logits go in as
arrays of shape (positions, vocabulary) and are computed in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._resample import percentile_interval, resample_counts, resample_indices

TOKEN_COLUMNS = ["text", "kl", "top1", "ll_reference", "ll_candidate"]


# ---------------------------------------------------------------- per token

def log_softmax(logits, axis: int = -1) -> np.ndarray:
    """log(softmax(logits)) in float64, shifted by the maximum so that large logits do not overflow."""
    x = np.asarray(logits, dtype=np.float64)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def kl_divergence(reference_logits, candidate_logits) -> np.ndarray:
    """KL(reference || candidate) in nats, one value per row of the two (positions, vocabulary) arrays."""
    ref, cand = _pair(reference_logits, candidate_logits)
    log_p, log_q = log_softmax(ref), log_softmax(cand)
    # Terms where p is 0 (a logit of -inf) contribute 0; without the mask they would be 0 * inf = nan.
    p = np.exp(log_p)
    with np.errstate(invalid="ignore"):
        terms = np.where(p > 0, p * (log_p - log_q), 0.0)
    # The divergence is never negative; a value a few ulps below 0 is rounding in the sum.
    return np.maximum(terms.sum(axis=-1), 0.0)


def top1_agreement(reference_logits, candidate_logits) -> np.ndarray:
    """Per row: True when both models' highest logit is on the same token (ties go to the lowest id)."""
    ref, cand = _pair(reference_logits, candidate_logits)
    return np.argmax(ref, axis=-1) == np.argmax(cand, axis=-1)


def token_log_likelihood(logits, targets) -> np.ndarray:
    """log p(target) per row: row i is the distribution that predicts targets[i]."""
    x = np.atleast_2d(np.asarray(logits, dtype=np.float64))
    targets = np.asarray(targets, dtype=np.int64)
    if targets.shape != (x.shape[0],):
        raise ValueError(f"{x.shape[0]} rows of logits but {targets.size} targets")
    if targets.size and (targets.min() < 0 or targets.max() >= x.shape[1]):
        raise ValueError(f"a target id lies outside the vocabulary of {x.shape[1]}")
    return log_softmax(x)[np.arange(targets.size), targets]


def token_figures(reference_logits, candidate_logits, targets, text: str = "") -> pd.DataFrame:
    """One row per scored position: text, kl, top1, ll_reference, ll_candidate."""
    ref, cand = _pair(reference_logits, candidate_logits)
    return pd.DataFrame({
        "text": [text] * ref.shape[0],
        "kl": kl_divergence(ref, cand),
        "top1": top1_agreement(ref, cand),
        "ll_reference": token_log_likelihood(ref, targets),
        "ll_candidate": token_log_likelihood(cand, targets),
    }, columns=TOKEN_COLUMNS)


def _pair(reference_logits, candidate_logits) -> tuple[np.ndarray, np.ndarray]:
    ref = np.atleast_2d(np.asarray(reference_logits, dtype=np.float64))
    cand = np.atleast_2d(np.asarray(candidate_logits, dtype=np.float64))
    if ref.shape != cand.shape:
        raise ValueError(f"logits of different shapes: reference {ref.shape}, candidate {cand.shape}")
    return ref, cand


# ---------------------------------------------------------------- per text

def text_summaries(tokens: pd.DataFrame) -> pd.DataFrame:
    """Per text (in order of first appearance): n_tokens, mean_kl, max_kl, top1, and each model's
    perplexity over that text's tokens."""
    if tokens.empty:
        return pd.DataFrame(columns=["text", "n_tokens", "mean_kl", "max_kl", "top1", "perplexity_reference",
                                     "perplexity_candidate"])
    grouped = tokens.groupby("text", sort=False)
    out = pd.DataFrame({
        "n_tokens": grouped.size(),
        "mean_kl": grouped["kl"].mean(),
        "max_kl": grouped["kl"].max(),
        "top1": grouped["top1"].mean(),
        "perplexity_reference": np.exp(-grouped["ll_reference"].mean()),
        "perplexity_candidate": np.exp(-grouped["ll_candidate"].mean()),
    })
    return out.reset_index()


# ---------------------------------------------------------------- per model

def _per_text_sums(tokens: pd.DataFrame, columns: list[str]) -> tuple[list, dict[str, np.ndarray], np.ndarray]:
    grouped = tokens.groupby("text", sort=False)
    sizes = grouped.size()
    sums = {c: grouped[c].sum().reindex(sizes.index).to_numpy(dtype=np.float64) for c in columns}
    return list(sizes.index), sums, sizes.to_numpy(dtype=np.float64)


def _ci(samples: np.ndarray, alpha: float) -> list[float] | None:
    low, high = percentile_interval(samples, alpha)
    return None if np.isnan(low) or np.isnan(high) else [low, high]


def pooled_quantile(values, q: float) -> float:
    """The q-quantile (0..1) of pooled per-token values, numpy's default linear interpolation."""
    values = np.asarray(values, dtype=np.float64)
    return float(np.quantile(values, q)) if values.size else float("nan")


def fidelity_figures(tokens: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05,
                     quantile: float = 0.99) -> dict[str, Any]:
    """A candidate's figures against its reference, from `token_figures` rows of one or more texts.

    Returns n_texts, n_tokens, mean_kl, p99_kl, top1, perplexity (the candidate's) and
    reference_perplexity, each figure with `<name>_ci` = [low, high] (a (1 - alpha) percentile bootstrap
    over texts) or None, and `reasons` {figure: why it is None}.
    """
    names = ["mean_kl", "p99_kl", "top1", "perplexity", "reference_perplexity"]
    out: dict[str, Any] = {"n_texts": int(tokens["text"].nunique()) if len(tokens) else 0,
                           "n_tokens": int(len(tokens)), "reasons": {}}
    for name in names:
        out[name], out[f"{name}_ci"] = None, None
    if tokens.empty:
        for name in names:
            out["reasons"][name] = "no scored tokens"
        return out
    texts, sums, n_tok = _per_text_sums(tokens, ["kl", "top1", "ll_reference", "ll_candidate"])
    total = n_tok.sum()
    out["mean_kl"] = float(sums["kl"].sum() / total)
    out["top1"] = float(sums["top1"].sum() / total)
    out["perplexity"] = float(np.exp(-sums["ll_candidate"].sum() / total))
    out["reference_perplexity"] = float(np.exp(-sums["ll_reference"].sum() / total))
    out["p99_kl"] = pooled_quantile(tokens["kl"], quantile)
    if len(texts) < 2:
        for name in names:
            out["reasons"][f"{name}_ci"] = "an interval over texts needs at least 2 texts"
        return out
    counts = resample_counts(len(texts), n_boot, seed).astype(np.float64)
    boot_tokens = counts @ n_tok
    out["mean_kl_ci"] = _ci(counts @ sums["kl"] / boot_tokens, alpha)
    out["top1_ci"] = _ci(counts @ sums["top1"] / boot_tokens, alpha)
    out["perplexity_ci"] = _ci(np.exp(-(counts @ sums["ll_candidate"]) / boot_tokens), alpha)
    out["reference_perplexity_ci"] = _ci(np.exp(-(counts @ sums["ll_reference"]) / boot_tokens), alpha)
    out["p99_kl_ci"] = _ci(_bootstrap_pooled_quantile(tokens, texts, quantile, n_boot, seed), alpha)
    return out


def _bootstrap_pooled_quantile(tokens: pd.DataFrame, texts: list, q: float, n_boot: int, seed: int) -> np.ndarray:
    """The pooled quantile of each resample of texts (the same resamples as `resample_counts`)."""
    per_text = dict(tuple(tokens.groupby("text", sort=False)["kl"]))
    arrays = [per_text[t].to_numpy(dtype=np.float64) for t in texts]
    indices = resample_indices(len(texts), n_boot, seed)
    return np.array([np.quantile(np.concatenate([arrays[i] for i in row]), q) for row in indices])


def perplexity_figures(log_likelihoods: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0,
                       alpha: float = 0.05) -> dict[str, Any]:
    """One model's perplexity over rows {text, ll}: exp(-mean ll over all tokens), with a bootstrap
    interval over texts; n_texts, n_tokens, mean_nll and `reasons` as in `fidelity_figures`."""
    out: dict[str, Any] = {"n_texts": int(log_likelihoods["text"].nunique()) if len(log_likelihoods) else 0,
                           "n_tokens": int(len(log_likelihoods)), "mean_nll": None, "perplexity": None,
                           "perplexity_ci": None, "reasons": {}}
    if log_likelihoods.empty:
        out["reasons"]["perplexity"] = "no scored tokens"
        return out
    texts, sums, n_tok = _per_text_sums(log_likelihoods, ["ll"])
    out["mean_nll"] = float(-sums["ll"].sum() / n_tok.sum())
    out["perplexity"] = float(np.exp(out["mean_nll"]))
    if len(texts) < 2:
        out["reasons"]["perplexity_ci"] = "an interval over texts needs at least 2 texts"
        return out
    counts = resample_counts(len(texts), n_boot, seed).astype(np.float64)
    out["perplexity_ci"] = _ci(np.exp(-(counts @ sums["ll"]) / (counts @ n_tok)), alpha)
    return out
