"""JSON Schemas of the input files (models.yaml, suites, rubrics), generated from the models that validate them,
so an editor with a YAML language server completes and checks them as bench will:

    # yaml-language-server: $schema=../schemas/suite.schema.json      (suites/*.yaml: relative to the file)

`bench schema models|suite|rubric` prints one; `bench schema --write DIR` writes all three.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KINDS_NOTE = "kind-specific settings sit beside the common keys; `bench models` names an unknown one"


def models_schema() -> dict[str, Any]:
    """models.yaml: version 1 and a mapping of model ids to entries, each entry checked against its kind."""
    from .adapters.base import Prices
    from .registry import KINDS, adapter_class

    variants = []
    for kind in sorted(KINDS):
        options = adapter_class(kind).Options.model_json_schema()
        props = dict(options.get("properties", {}))
        props.update({
            "kind": {"const": kind},
            "max_concurrency": {"type": "integer", "minimum": 1, "maximum": 256},
            "prices": Prices.model_json_schema(),
            "family": {"type": ["string", "null"]},
        })
        variants.append({"type": "object", "title": kind, "properties": props,
                         "required": ["kind", *options.get("required", [])], "additionalProperties": False,
                         **({"$defs": options["$defs"]} if "$defs" in options else {})})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "bench models.yaml",
        "type": "object", "additionalProperties": False, "required": ["version", "models"],
        "properties": {"version": {"const": 1},
                       "models": {"type": "object", "minProperties": 1, "description": KINDS_NOTE,
                                  "additionalProperties": {"oneOf": variants}}},
    }


def suite_schema() -> dict[str, Any]:
    from .config import Suite

    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **Suite.model_json_schema()}


def rubric_schema() -> dict[str, Any]:
    from .rubric import Rubric

    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **Rubric.model_json_schema()}


SCHEMAS = {"models": models_schema, "suite": suite_schema, "rubric": rubric_schema}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=2, ensure_ascii=False) + "\n"


def write_all(folder: Path) -> list[Path]:
    from .files import atomic_write_text

    return [atomic_write_text(Path(folder) / f"{name}.schema.json", render(name)) for name in SCHEMAS]
