"""The pipeline's config file (strict: an unknown key or a wrong type names the file, line and key) and its gate
templates."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import ConfigError, from_validation
from harness.yamlfile import load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepConfigs(_Strict):
    base: str | None = None  # YAML config of training.make_base (None: sft's base_model must exist)
    sft: str
    qat: str | None = None  # None: no QAT step; the ladder starts from the SFT model
    export: str


class GateTemplates(_Strict):
    sft: list[str | dict] = Field(min_length=1)
    exports: list[str | dict] = Field(min_length=1)


class LadderFidelity(_Strict):
    """The ladder evaluation's fidelity stage: each export against its parent on `texts` ("suite": the
    evaluated cases' reference answers; or a chat JSONL file, or another suite)."""

    texts: str = "suite"
    limit: int | None = Field(None, ge=1)


class PipelineConfig(_Strict):
    version: int
    suite: str
    models: str = "models.yaml"  # the project's models (the judge lives here)
    models_out: str = "training/out/models.yaml"  # where the recipes write their entries
    work_dir: str = "training/out/pipeline"
    reports_dir: str = "reports"
    store: str = ".bench/bench.sqlite"
    sample: int | None = Field(None, ge=2)  # cases per evaluation, spread evenly over the suite (None: all)
    judge: str | None = None  # None: the suite's judge
    steps: StepConfigs
    gates: GateTemplates
    fidelity: LadderFidelity | None = LadderFidelity()  # None: no fidelity figures in the ladder
    base_export_id: str = "base"  # models.yaml id prefix of the base's f16 GGUF
    sft_export_id: str = "sft"  # ... and of the SFT model's
    evaluate_qat_checkpoint: bool = False
    promote_id: str
    promote_to: str = "training/out/models.yaml"
    keep_going: bool = False  # evaluate every step even after a failed gate (never promotes past one)


def load_pipeline_config(path: Path) -> PipelineConfig:
    data, lines = load_yaml(path)
    try:
        config = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, str(path), lines=lines) from None
    if config.version != 1:
        raise ConfigError("expected 'version: 1'", path=str(path), line=lines.get(("version",)), key="version")
    return config


def fill_gates(templates: list[str | dict], candidate: str, baseline: str, source: str):
    """The gate templates with the two ids put in, parsed strictly (harness.gates.spec)."""
    from harness.gates.spec import parse_gates

    def fill(value):
        if isinstance(value, str):
            return value.replace("{candidate}", candidate).replace("{baseline}", baseline)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return parse_gates([fill(t) for t in templates], source)
