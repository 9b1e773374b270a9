"""The typed result of a fidelity run, its Markdown table, and the atomic write of both files."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

SCHEMA_VERSION = 1

Interval = list[float] | None  # [low, high]; None when it cannot be computed (see `reasons`)


class SourceInfo(BaseModel):
    kind: Literal["suite", "file", "examples"]
    name: str
    path: str | None = None
    sha256: str | None = None
    read: int  # cases or rows read
    scored: int  # texts scored
    skipped: dict[str, int] = {}  # reason -> count


class ReferenceFigures(BaseModel):
    id: str
    kind: str
    size_mib: float | None = None
    n_texts: int
    n_tokens: int
    perplexity: float | None = None
    perplexity_ci: Interval = None


class ModelFidelity(BaseModel):
    """One candidate against the reference. KL in nats; top1 a share; perplexity the candidate's own."""

    id: str
    kind: str
    size_mib: float | None = None
    n_texts: int
    n_tokens: int
    mean_kl: float | None = None
    mean_kl_ci: Interval = None
    p99_kl: float | None = None
    p99_kl_ci: Interval = None
    top1: float | None = None
    top1_ci: Interval = None
    perplexity: float | None = None
    perplexity_ci: Interval = None
    seconds: float | None = None
    reasons: dict[str, str] = {}  # figure -> why it is null


class TextRow(BaseModel):
    model: str
    text: str
    n_tokens: int
    mean_kl: float
    max_kl: float
    top1: float
    perplexity_reference: float
    perplexity_candidate: float


class FidelitySettings(BaseModel):
    n_boot: int
    seed: int
    confidence: float
    kl_quantile: float


class FidelityResult(BaseModel):
    kind: Literal["fidelity"] = "fidelity"
    schema_version: int = SCHEMA_VERSION
    created_at: str
    source: SourceInfo
    reference: ReferenceFigures
    models: list[ModelFidelity]
    texts: list[TextRow] = []
    settings: FidelitySettings
    wall_time_s: float
    command: str | None = None

    def model(self, model_id: str) -> ModelFidelity | None:
        return next((m for m in self.models if m.id == model_id), None)


class PerplexityResult(BaseModel):
    """One model's perplexity over the answers of held-out chat examples."""

    model: str
    source: SourceInfo
    n_texts: int
    n_tokens: int
    mean_nll: float | None = None
    perplexity: float | None = None
    perplexity_ci: Interval = None
    confidence: float
    seed: int
    reasons: dict[str, str] = {}


# ---------------------------------------------------------------- Markdown

def _number(x: float | None, ci: Interval, fmt: str) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    text = format(x, fmt)
    return text + (f" [{format(ci[0], fmt)}, {format(ci[1], fmt)}]" if ci else "")


def _share(x: float | None, ci: Interval) -> str:
    if x is None:
        return "-"
    return f"{x:.1%}" + (f" [{ci[0]:.1%}, {ci[1]:.1%}]" if ci else "")


def _mib(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def table_rows(result: FidelityResult) -> list[list[str]]:
    """The table as text cells, reference first: model, MiB, texts, tokens, mean KL, p99 KL, top-1,
    perplexity, seconds. Shared by the Markdown and the terminal table."""
    ref = result.reference
    rows = [[f"{ref.id} (reference)", _mib(ref.size_mib), str(ref.n_texts), str(ref.n_tokens), "0", "0", "100%",
             _number(ref.perplexity, ref.perplexity_ci, ".3f"), "-"]]
    for m in result.models:
        rows.append([m.id, _mib(m.size_mib), str(m.n_texts), str(m.n_tokens), _number(m.mean_kl, m.mean_kl_ci, ".3g"),
                     _number(m.p99_kl, m.p99_kl_ci, ".3g"), _share(m.top1, m.top1_ci),
                     _number(m.perplexity, m.perplexity_ci, ".3f"), "-" if m.seconds is None else f"{m.seconds:.1f}"])
    return rows


def table_header(result: FidelityResult) -> list[str]:
    level = f"{result.settings.confidence:.0%} CI"
    quantile = f"p{result.settings.kl_quantile * 100:g}"
    return ["model", "MiB", "texts", "tokens", f"mean KL [{level}]", f"{quantile} KL [{level}]", f"top-1 [{level}]",
            f"perplexity [{level}]", "s"]


def render_markdown(result: FidelityResult) -> str:
    src = result.source
    skipped = "; ".join(f"{n} skipped: {reason}" for reason, n in src.skipped.items())
    lines = [f"# Fidelity against {result.reference.id}: {src.kind} {src.name}", "",
             f"{src.scored} texts scored of {src.read} read" + (f" ({skipped})" if skipped else "")
             + f"; answer tokens teacher-forced; KL(reference || candidate) in nats; intervals are bootstraps "
               f"over texts ({result.settings.n_boot} resamples, seed {result.settings.seed}).", ""]
    header = table_header(result)
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(result)]
    notes = [f"- {m.id}: {figure}: {why}" for m in result.models for figure, why in m.reasons.items()]
    if notes:
        lines += ["", "Figures not computed:", *notes]
    if result.command:
        lines += ["", f"Command: `{result.command}`"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- files

def atomic_write_text(path: Path, text: str) -> Path:
    """Write through a temporary file beside `path` and a rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_fidelity(result: FidelityResult, out_dir: Path) -> tuple[Path, Path]:
    """out_dir/fidelity.json and out_dir/fidelity.md; returns both paths."""
    out_dir = Path(out_dir)
    data = result.model_dump(mode="json")
    json_path = atomic_write_text(out_dir / "fidelity.json", json.dumps(data, indent=2, allow_nan=False) + "\n")
    md_path = atomic_write_text(out_dir / "fidelity.md", render_markdown(result))
    return json_path, md_path

