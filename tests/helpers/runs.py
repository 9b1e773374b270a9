"""Running a suite in a test and reading its results as results.json holds them."""

from __future__ import annotations


def run_suite(*args, **kwargs) -> tuple[dict, object]:
    """harness.evaluate.run_suite, with the Results as the JSON dict a CI job reads."""
    from harness.evaluate import run_suite as run

    results, index = run(*args, **kwargs)
    return results.model_dump(mode="json"), index
