"""Changes to the store's tables that `ALTER TABLE ... ADD COLUMN` cannot make (harness.store adds plain columns
itself, from harness.store_schema.ADDED_COLUMNS).

Repeated samples (`--repeat N`) put a `sample` index into the primary key of a run's answers, grades, judge
scores and judgments. SQLite cannot change a primary key in place, so a store written before that has each of
these tables rebuilt once, when it is opened: a new table from the current schema, every column of the old one
copied over (columns added since are kept), its rows becoming sample 0, all in one transaction. A run recorded
before then is a run with one sample per case, and rebuilds to the same results.
"""

from __future__ import annotations

import re
import sqlite3

SAMPLED_TABLES = ("answers", "grades", "judgments", "judge_scores")


def _columns(db: sqlite3.Connection, table: str) -> dict[str, str]:
    return {row[1]: row[2] for row in db.execute(f"PRAGMA table_info({table})")}


def _create_statement(schema: str, table: str, as_name: str) -> str:
    found = re.search(rf"CREATE TABLE IF NOT EXISTS {table} \((.*?)\);", schema, re.DOTALL)
    if found is None:  # pragma: no cover - the schema names every table in SAMPLED_TABLES
        raise ValueError(f"the store schema has no table {table}")
    return f"CREATE TABLE {as_name} ({found.group(1)})"


def key_samples(db: sqlite3.Connection, schema: str) -> list[str]:
    """Rebuild each table of SAMPLED_TABLES that has no `sample` column; returns the tables rebuilt. `db` is in
    autocommit mode (isolation_level None); two processes opening one old store wait for each other."""
    rebuilt = []
    for table in SAMPLED_TABLES:
        if "sample" in _columns(db, table):
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            old = _columns(db, table)
            if "sample" in old:  # another process rebuilt it while this one waited
                db.execute("ROLLBACK")
                continue
            new_name = f"{table}__with_samples"
            db.execute(f"DROP TABLE IF EXISTS {new_name}")
            db.execute(_create_statement(schema, table, new_name))
            new = _columns(db, new_name)
            for name, sql_type in old.items():
                if name not in new:
                    db.execute(f"ALTER TABLE {new_name} ADD COLUMN {name} {sql_type}")
            names = ", ".join(old)
            db.execute(f"INSERT INTO {new_name} ({names}) SELECT {names} FROM {table}")
            db.execute(f"DROP TABLE {table}")
            db.execute(f"ALTER TABLE {new_name} RENAME TO {table}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        rebuilt.append(table)
    return rebuilt
