"""`bench models`: the models file's entries, or the entries given ids resolve to (shorthand ids included: see
harness.shorthand) with their kind and settings; `--check` asks each model for one word."""

from __future__ import annotations

import json
from pathlib import Path

from .config import ModelEntry, find_suite, load_models, load_suite, resolve_model
from .errors import BenchError

FROM_FILE, FROM_SHORTHAND = "models file", "shorthand"


def listed_models(models_path: Path, *, resolve: list[str] = (),
                  suite: str | None = None) -> list[tuple[ModelEntry, str]]:
    """(entry, where it comes from) for each model to list: the models file's entries, or, given ids or a suite,
    the entries those ids resolve to (the suite's models, then its judges)."""
    path = Path(models_path)
    if not resolve and not suite:
        return [(entry, FROM_FILE) for entry in load_models(path).values()]
    models = load_models(path, missing_ok=True)
    source = str(path) if path.exists() else f"{path} (no such file)"
    ids = list(resolve)
    if suite:
        loaded = load_suite(find_suite(suite, Path.cwd()), models, models_source=source)
        ids += [*loaded.suite.models, *loaded.suite.judge_ids()]
    return [(resolve_model(mid, models, source=source, key="--resolve"), FROM_FILE if mid in models else FROM_SHORTHAND)
            for mid in dict.fromkeys(ids)]


def entry_settings(entry: ModelEntry) -> dict:
    """The settings that differ from the kind's defaults, as models.yaml would hold them (with `kind`)."""
    settings = {"kind": entry.kind, **entry.options.model_dump(mode="json", exclude_defaults=True)}
    if entry.max_concurrency != 1:
        settings["max_concurrency"] = entry.max_concurrency
    if entry.prices is not None:
        settings["prices"] = entry.prices.model_dump()
    if entry.family:
        settings["family"] = entry.family
    return settings


def settings_text(entry: ModelEntry) -> str:
    return ", ".join(f"{key}: {json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value}"
                     for key, value in entry_settings(entry).items() if key != "kind")


def print_models(rows: list[tuple[ModelEntry, str]], title: str, *, check: bool) -> int:
    """The table; with `check`, each model's fingerprint and its answer to a one-word request. Returns the exit
    code: 3 when a model failed the check."""
    from rich.console import Console
    from rich.table import Table

    from .adapters.base import GenerationSettings
    from .progress import plain
    from .registry import create_adapter

    table = Table(title=plain(title))
    for col in ("id", "kind", "from", "settings", *(("fingerprint", "TTFT", "status") if check else ())):
        table.add_column(plain(col), overflow="fold")
    failed = 0
    for entry, origin in rows:
        described = (entry.id, entry.kind, origin, settings_text(entry))
        if not check:
            table.add_row(*map(plain, described))
            continue
        try:
            adapter = create_adapter(entry)
            fingerprint = adapter.fingerprint()
            if adapter.answers_by_case:  # answers from a file: reading it whole is the check
                table.add_row(*map(plain, (*described, fingerprint, "-", f"ok: {adapter.describe()}")))
                continue
            c = adapter.generate([{"role": "user", "content": "Reply with one word: ready"}],
                                 GenerationSettings(max_tokens=8))
            adapter.close()
            status = "ok: " + repr(c.text.strip()[:30]) if c.error is None else f"error: {c.error}"
            failed += c.error is not None
            ttft = "-" if c.ttft_s is None else f"{c.ttft_s:.2f}s"
        except BenchError as exc:
            fingerprint, ttft, status = "-", "-", f"error: {exc}"
            failed += 1
        table.add_row(*map(plain, (*described, fingerprint, ttft, status)))
    Console().print(table)
    return 3 if failed else 0
