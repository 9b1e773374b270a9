"""docs/results.md's field reference and docs/results.schema.json, generated from the Results model so the
contract and the code cannot drift (a test checks that both files are current).

    python -m harness.results.schema          rewrite both files
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .model import Results

DOC = Path(__file__).resolve().parents[2] / "docs" / "results.md"
SCHEMA_FILE = DOC.with_name("results.schema.json")
BEGIN = "<!-- fields: generated from harness/results/model.py by `python -m harness.results.schema`; do not edit -->"
END = "<!-- end of fields -->"


def json_schema() -> dict:
    return Results.model_json_schema()


def _type(node: dict, defs: dict) -> tuple[str, dict | None]:
    """A readable type for a schema node, and the object definition to descend into (if any)."""
    if "$ref" in node:
        name = node["$ref"].split("/")[-1]
        return "object", defs[name]
    if "anyOf" in node:
        parts = [_type(option, defs) for option in node["anyOf"]]
        names = [name for name, _ in parts if name != "null"]
        inner = next((sub for _, sub in parts if sub is not None), None)
        optional = any(name == "null" for name, _ in parts)
        return " or ".join(names) + (" or null" if optional else ""), inner
    kind = node.get("type", "any")
    if kind == "array":
        item, inner = _type(node.get("items", {}), defs)
        return f"list of {item}", inner
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        value, inner = _type(node["additionalProperties"], defs)
        return f"map of {value}", inner
    if "enum" in node:
        return " | ".join(json.dumps(v) for v in node["enum"]), None
    if "const" in node:
        return json.dumps(node["const"]), None
    return {"number": "number", "integer": "integer", "string": "string", "boolean": "boolean"}.get(kind, kind), None


def _rows(model: dict, defs: dict, prefix: str, out: list[tuple[str, str, str]]) -> None:
    for name, node in model.get("properties", {}).items():
        path = f"{prefix}{name}"
        kind, inner = _type(node, defs)
        out.append((path, kind, node.get("description", "")))
        if inner is not None:
            suffix = "[]" if kind.startswith("list") else ".*" if kind.startswith("map") else ""
            _rows(inner, defs, f"{path}{suffix}.", out)


def field_table() -> str:
    schema = json_schema()
    rows: list[tuple[str, str, str]] = []
    _rows(schema, schema.get("$defs", {}), "", rows)
    lines = [BEGIN, "", "| field | type | meaning |", "|---|---|---|"]
    lines += [f"| `{path}` | {kind} | {text.replace('|', '/')} |" for path, kind, text in rows]
    return "\n".join(lines + ["", END])


def rendered_doc(current: str) -> str:
    """The doc with its generated part replaced (appended when the markers are not there yet)."""
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return head + field_table() + tail
    return current.rstrip("\n") + "\n\n## Every field\n\n" + field_table() + "\n"


def rendered_schema() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    DOC.write_text(rendered_doc(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    SCHEMA_FILE.write_text(rendered_schema(), encoding="utf-8")
    print(f"wrote {DOC} and {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
