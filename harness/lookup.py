"""Finding a finished run: by its results.json, its report folder, or its run id (in the store or under the
reports folder). The store holds what the results are computed from; results.json is the fallback when the
store is gone."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError
from .results.model import Results, as_results


def resolve_results_path(run: str, reports_dir: Path = Path("reports")) -> Path:
    """RUN as a results.json path, a run directory, or a run id (reports/<suite>/<run-id>/)."""
    candidate = Path(run)
    if candidate.is_file():
        return candidate
    if (candidate / "results.json").is_file():
        return candidate / "results.json"
    matches = sorted(Path(reports_dir).glob(f"*/{run}/results.json"))
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ConfigError(f"run id '{run}' is ambiguous: {', '.join(str(m.parent) for m in matches)}")
    raise ConfigError(f"no run '{run}': not a results.json, a run directory, or a run id under {reports_dir}/")


def read_results_file(path: Path) -> Results:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=str(path)) from None
    return as_results(text, str(path))


def find_run(run: str, *, reports_dir: Path, store_path: Path | None) -> tuple[Results, Path]:
    """(results, report folder) of a finished run, recomputed from the store when it holds the run, else read
    from its results.json."""
    from .evaluate import finished_results
    from .store import Store

    try:
        path = resolve_results_path(run, reports_dir)
    except ConfigError:
        path = None
        if store_path is None or not Path(store_path).is_file():
            raise
    saved = read_results_file(path) if path else None
    run_id = saved.run_id if saved else run
    if store_path is not None and Path(store_path).is_file():
        store = Store(Path(store_path))
        try:
            info = store.run_info(run_id)
            if info and info.get("spec") and info.get("stages_done_at"):
                results = finished_results(store, run_id)
                return results, path.parent if path else Path(reports_dir) / results.suite.name / run_id
        finally:
            store.close()
    if saved is None:
        raise ConfigError(f"no run '{run}' in {store_path} or under {reports_dir}/")
    return saved, path.parent
