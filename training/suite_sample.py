"""A suite written again with some of its cases (spread evenly over the file) and extra settings: what the
pipeline evaluates on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from harness.yamlfile import load_yaml, read_jsonl


def sample_suite(name_or_path: str, k: int | None, out_dir: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write `<suite>-sample<k>`: the suite with k of its cases, evenly spaced through the cases file (all of
    them when k is None, under the suite's own name), with `extra` settings (e.g. fidelity) added."""
    from harness.config import find_suite

    suite_path = find_suite(name_or_path, Path.cwd())
    data, _ = load_yaml(suite_path)
    rows = [row for _, row in read_jsonl(suite_path.parent / data["cases"])]
    # the middle of each of k equal stretches of the file, so its first and last parts are both in
    picked = [rows[int((i + 0.5) * len(rows) / k)] for i in range(k)] if k and k < len(rows) else rows
    name = f"{data['name']}-sample{len(picked)}" if k else data["name"]
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = out_dir / f"{name}.jsonl"
    cases.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in picked), encoding="utf-8")
    rubric = data.get("rubric")
    if rubric and not Path(rubric).is_file():
        # the copy lives elsewhere, so the rubric is named by the file the original suite would find
        from harness.rubric import find_rubric

        found = find_rubric(rubric, suite_path)
        data["rubric"] = str(found.resolve()) if found else rubric
    labels = data.get("labels")
    if labels:
        # the human labels stay beside the original suite; the copy names them by their full path
        data["labels"] = str((suite_path.parent / labels).resolve())
    data.update(name=name, cases=cases.name, **(extra or {}))
    if k:
        data["description"] = f"{len(picked)} of the {len(rows)} cases of {data['name']}, evenly spaced. " \
            + str(data.get("description") or "")
    target = out_dir / f"{name}.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target
