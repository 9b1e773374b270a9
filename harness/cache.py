"""The cache of model calls in the store: what it holds per model and stage, and removing part or all of it.

Only the `generations` table is the cache. A run's results are computed from its own rows (answers, grades,
judgments, scores, trials, the calls it made, the failures it met), so clearing or pruning the cache never
changes a finished run's results: it only means the next run asks those models again.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .store import Store

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dh])\s*$")
_SECONDS = {"d": 86400, "h": 3600}


@dataclass(frozen=True)
class CacheGroup:
    """The cached calls of one model in one stage."""

    model_id: str
    stage: str
    calls: int
    text_bytes: int  # UTF-8 bytes of the cached answers' text
    oldest: float  # Unix time
    newest: float


def parse_age(text: str) -> float:
    """'30d' or '12h' (a number of days or hours) as seconds."""
    match = _AGE.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"'{text}' is not an age: a positive number of days or hours, such as 30d or 12h",
                          key="--older-than")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def store_bytes(path: Path) -> int:
    """The store's size on disk: the database file and its write-ahead log."""
    return sum(p.stat().st_size for p in (Path(path), Path(f"{path}-wal"), Path(f"{path}-shm")) if p.is_file())


def _where(model: str | None, stage: str | None, before: float | None) -> tuple[str, list]:
    """`model` is the id a call was made under, or a model's fingerprint: one model answers under every id that
    resolves to it (a shorthand id and a models.yaml entry of the same file share their cache rows, which keep
    the id of the first run that made them)."""
    clauses, params = [], []
    if model is not None:
        clauses.append("(model_id = ? OR fingerprint = ?)")
        params += [model, model]
    if stage is not None:
        clauses.append("stage = ?")
        params.append(stage)
    if before is not None:
        clauses.append("created_at < ?")
        params.append(before)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def cache_groups(store: Store, *, model: str | None = None, stage: str | None = None,
                 before: float | None = None) -> list[CacheGroup]:
    """Cached calls per model and stage (those matching the filters), by model then stage."""
    where, params = _where(model, stage, before)
    rows = store.query("SELECT model_id, stage, COUNT(*) AS calls, SUM(LENGTH(CAST(text AS BLOB))) AS text_bytes, "
                       f"MIN(created_at) AS oldest, MAX(created_at) AS newest FROM generations{where} "
                       "GROUP BY model_id, stage ORDER BY model_id, stage", params)
    return [CacheGroup(r["model_id"], r["stage"], int(r["calls"]), int(r["text_bytes"] or 0), r["oldest"], r["newest"])
            for r in rows]


def remove_cached(store: Store, *, model: str | None = None, stage: str | None = None,
                  before: float | None = None) -> list[CacheGroup]:
    """Remove the cached calls that match (all of them without filters), in one transaction; returns what was
    removed, per model and stage."""
    removed = cache_groups(store, model=model, stage=stage, before=before)
    where, params = _where(model, stage, before)
    with store.transaction() as db:
        db.execute(f"DELETE FROM generations{where}", params)
    return removed


def compact(store: Store) -> str | None:
    """Give the freed pages back to the file system; None when done, else why not (another process holds the
    store open in a transaction: the space is reused by later calls instead)."""
    try:
        store.query("PRAGMA wal_checkpoint(TRUNCATE)")
        store.query("VACUUM")
    except sqlite3.OperationalError as exc:
        return str(exc)
    return None


def older_than(seconds: float, now: float | None = None) -> float:
    """The creation time before which an entry is older than `seconds`."""
    return (time.time() if now is None else now) - seconds


def _when(unix: float) -> str:
    from datetime import datetime, timezone

    from .report import formatting as fmt

    return fmt.timestamp(datetime.fromtimestamp(unix, timezone.utc).isoformat())


def print_info(store: Store) -> None:
    """The store's size and the cached calls per model and stage (counts, text bytes, oldest and newest)."""
    from rich.console import Console
    from rich.table import Table

    from .progress import plain
    from .report import formatting as fmt

    groups = cache_groups(store)
    console = Console()
    console.print(f"store {store.path}: {fmt.byte_size(store_bytes(store.path))} on disk; "
                  f"{fmt.count(sum(g.calls for g in groups))} cached calls, "
                  f"{fmt.byte_size(sum(g.text_bytes for g in groups))} of text", markup=False, highlight=False)
    if not groups:
        return
    table = Table()
    for col in ("model", "stage", "calls", "text", "oldest", "newest"):
        table.add_column(plain(col), overflow="fold")
    for g in groups:
        table.add_row(*map(plain, (g.model_id, g.stage, fmt.count(g.calls), fmt.byte_size(g.text_bytes),
                                   _when(g.oldest), _when(g.newest))))
    console.print(table)


def removed_lines(removed: list[CacheGroup]) -> list[str]:
    from .report import formatting as fmt

    total = sum(g.calls for g in removed)
    return [f"removed {fmt.count(total)} cached call{'s' if total != 1 else ''}"
            + (":" if removed else "")] + [f"  {g.model_id} / {g.stage}: {fmt.count(g.calls)}" for g in removed]
