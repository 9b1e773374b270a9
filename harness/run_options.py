"""What a command line asks of a run beyond the suite file: which cases (`--tags`, `--case`, `--limit`), the
contestants' generation settings (`--temperature`, `--max-tokens`, `--seed`), and whether to answer afresh
(`--no-cache`). Each is recorded in the run's spec, so results.json says which subset ran and under which
settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .adapters.base import GenerationSettings
from .cases import Case
from .errors import ConfigError, from_validation
from .case_sample import stratified_sample

UNTAGGED = "(untagged)"
OVERRIDE_FLAGS = {"temperature": "--temperature", "max_tokens": "--max-tokens", "seed": "--seed"}


@dataclass(frozen=True)
class RunOptions:
    tags: tuple[str, ...] = ()  # cases with any of these tags
    case_ids: tuple[str, ...] = ()  # only these cases
    limit: int | None = None  # a stratified sample of this many of the cases left
    case_seed: int | None = None  # the sample's seed; None: the suite's judging seed
    temperature: float | None = None  # the contestants' generation settings, in place of the suite's
    max_tokens: int | None = None
    seed: int | None = None
    no_cache: bool = False  # answer afresh: nothing cached before this run is used (what comes back is stored)
    repeat: int | None = None  # samples of each case (harness.sampling), in place of the suite's generation.samples
    max_cost: float | None = None  # this command's spending cap in USD (harness.budget)

    def overrides(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in OVERRIDE_FLAGS if getattr(self, name) is not None}

    def selects(self) -> bool:
        return bool(self.tags or self.case_ids or self.limit is not None)


def case_group(case: Case) -> str:
    """The stratum a case is sampled in: its first tag (a suite's category comes first: `red-flag`,
    `theme:hedging`)."""
    return case.tags[0] if case.tags else UNTAGGED


def select_cases(cases: list[Case], options: RunOptions, *, seed: int,
                 suite_file: Path) -> tuple[list[Case], dict[str, Any] | None]:
    """(the cases the run asks, in the suite's order; the record of how they were chosen, None for all).
    `--case` and `--tags` each narrow the cases; `--limit` then samples what is left. Errors name `suite_file`."""
    chosen = list(cases)
    if options.case_ids:
        known = {case.id for case in cases}
        for case_id in options.case_ids:
            if case_id not in known:
                raise ConfigError(f"suite {suite_file} has no case '{case_id}'", key="--case")
        wanted = set(options.case_ids)
        chosen = [case for case in chosen if case.id in wanted]
    if options.tags:
        known_tags = {tag for case in cases for tag in case.tags}
        for tag in options.tags:
            if tag not in known_tags:
                raise ConfigError(f"no case of suite {suite_file} has the tag '{tag}' (tags: "
                                  f"{', '.join(sorted(known_tags)) or 'none'})", key="--tags")
        chosen = [case for case in chosen if set(case.tags) & set(options.tags)]
        if not chosen:
            raise ConfigError(f"none of the cases chosen with --case has any of the tags {', '.join(options.tags)}",
                              key="--tags")
    sample_seed = seed if options.case_seed is None else options.case_seed
    if options.limit is not None:
        if options.limit < 1:
            raise ConfigError(f"{options.limit} is not a number of cases (at least 1)", key="--limit")
        picked = stratified_sample([case_group(case) for case in chosen], options.limit, sample_seed)
        chosen = [chosen[i] for i in picked]
    if not options.selects():
        return chosen, None
    groups: dict[str, int] = {}
    for case in chosen:
        groups[case_group(case)] = groups.get(case_group(case), 0) + 1
    return chosen, {
        "tags": list(options.tags), "case_ids": list(options.case_ids), "limit": options.limit,
        "seed": sample_seed if options.limit is not None else None, "stratified_by": "first tag",
        "cases": len(chosen), "of": len(cases), "groups": groups, "ids": [case.id for case in chosen],
    }


def effective_generation(suite_settings: GenerationSettings, overrides: dict[str, Any]) -> GenerationSettings:
    """The suite's generation settings with the command line's overrides, checked against the same bounds as a
    suite's own (a value no backend could honour is refused before any model is called). What the suite's
    settings hold beyond a model's settings (`samples`, harness.sampling) is kept."""
    if not overrides:
        return suite_settings
    try:
        checked = GenerationSettings.model_validate({**suite_settings.model_dump(exclude={"samples"}), **overrides})
        return suite_settings.model_copy(update=checked.model_dump())
    except ValidationError as exc:
        error = from_validation(exc, None)
        name = error.key or ""
        raise ConfigError(f"{overrides.get(name)!r}: {error.detail}", key=OVERRIDE_FLAGS.get(name, name)) from None
