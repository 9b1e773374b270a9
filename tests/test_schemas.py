"""The input files' JSON Schemas: generated from the models that validate them, current, and agreeing with them."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from harness import schemas

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(schemas.SCHEMAS))
def test_the_shipped_schemas_are_current(name):
    assert (ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8") == schemas.render(name), \
        "run `bench schema --write schemas`"


@pytest.mark.parametrize("name, pattern", [("models", "models.yaml"), ("suite", "suites/*.yaml"),
                                           ("rubric", "rubrics/*.yaml")])
def test_every_shipped_file_validates(name, pattern):
    schema = schemas.SCHEMAS[name]()
    for path in sorted(ROOT.glob(pattern)):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)


def test_a_misspelt_key_is_caught_by_the_schema_as_by_bench():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": 1, "models": {"m": {"kind": "gguf", "pakage": "x"}}}, schemas.models_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "s", "version": 1, "cases": "c.jsonl", "models": ["m"], "temprature": 0},
                            schemas.suite_schema())
