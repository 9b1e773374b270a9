"""The check registry: one function and one strict options model per check type, registered by name.

A check type is registered with `@register(name, Options)`. The registry derives a spec model
(the options plus `type: Literal[name]`) so that a rubric can say `check: {type: NAME, ...}` and
have it validated strictly: an unknown type gets "did you mean", an unknown option names its key.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, Mapping, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, WrapValidator, create_model
from pydantic_core import PydanticCustomError


class CheckOptions(BaseModel):
    """Base of every options model: unknown keys are errors; a spec, once built, does not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class CheckOutcome:
    """`met`: the behaviour the check looks for is present. `detail`: what was found, for people."""

    met: bool
    detail: str


CheckFunction = Callable[[Any, str, "str | None"], CheckOutcome]


@dataclass(frozen=True)
class CheckType:
    name: str
    options: type[CheckOptions]
    spec: type[CheckOptions]  # options + `type: Literal[name]`
    function: CheckFunction
    summary: str  # one line for docs and `known_checks`


_REGISTRY: dict[str, CheckType] = {}
_spec_type_cache: dict[tuple[str, ...], tuple[Any, TypeAdapter]] = {}


def register(name: str, options: type[CheckOptions], summary: str = "") -> Callable[[CheckFunction], CheckFunction]:
    """Register `function(spec, response, prompt) -> CheckOutcome` as check type `name`."""
    if "type" in options.model_fields:
        raise TypeError(f"options of check '{name}' must not define 'type' (the registry adds it)")

    def decorate(function: CheckFunction) -> CheckFunction:
        if name in _REGISTRY:
            raise ValueError(f"check type '{name}' is registered twice")
        class_name = "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]+", name)) + "Spec"
        spec = create_model(class_name, __base__=options, type=(Literal[name], ...))
        doc = summary or ((function.__doc__ or "").strip().splitlines() or [""])[0]
        _REGISTRY[name] = CheckType(name, options, spec, function, doc)
        _spec_type_cache.clear()
        return function

    return decorate


def known_checks() -> list[str]:
    return sorted(_REGISTRY)


def check_type(name: str) -> CheckType:
    """The registered check type; KeyError with a "did you mean" message for an unknown name."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(unknown_check_message(name)) from None


def unknown_check_message(name: Any) -> str:
    suggestions = _close_names(str(name))
    hint = f" (did you mean {' or '.join(repr(s) for s in suggestions)}?)" if suggestions else ""
    return f"unknown check type '{name}'{hint}"


def _close_names(name: str) -> list[str]:
    """The registered names nearest to `name`: the best match and any about as good, at most three."""
    scored: dict[str, float] = {}
    for known in _REGISTRY:
        # IFEval ids are "group:name"; someone who writes only the part after the colon meant that one.
        candidates = [known, known.split(":", 1)[-1]] if ":" in known and ":" not in name else [known]
        scored[known] = max(difflib.SequenceMatcher(None, name, c).ratio() for c in candidates)
        if len(name) >= 3 and candidates[-1].startswith(name):
            scored[known] = max(scored[known], 0.75)  # "json" for "detectable_format:json_format"
    best = max(scored.values(), default=0.0)
    if best < 0.6:
        return []
    close = sorted((n for n, r in scored.items() if r >= best - 0.05), key=lambda n: -scored[n])
    return close[:3]


def _check_tag_then_validate(value: Any, handler):
    """Validate against the union, with errors located at the key the user wrote.

    Pydantic puts the union tag into an error's location (`check.regex.patern`); a rubric has no
    such key, so the tag is removed. An unknown or missing type is reported at `type`.
    """
    if isinstance(value, Mapping):
        if "type" not in value:
            raise ValidationError.from_exception_data(
                "CheckSpec", [{"type": "missing", "loc": ("type",), "input": dict(value)}])
        if not isinstance(value["type"], str):
            error = PydanticCustomError("check_type", "the check type must be a name such as 'regex'")
            raise ValidationError.from_exception_data(
                "CheckSpec", [{"type": error, "loc": ("type",), "input": value["type"]}])
        if value["type"] not in _REGISTRY:
            error = PydanticCustomError("unknown_check", unknown_check_message(value["type"]))
            raise ValidationError.from_exception_data(
                "CheckSpec", [{"type": error, "loc": ("type",), "input": value["type"]}])
    try:
        return handler(value)
    except ValidationError as exc:
        tag = value.get("type") if isinstance(value, Mapping) else None
        errors = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if tag is not None and loc[:1] == (tag,):
                loc = loc[1:]
            item = {"type": err["type"], "loc": loc, "input": err["input"]}
            if "ctx" in err:
                item["ctx"] = err["ctx"]
            errors.append(item)
        raise ValidationError.from_exception_data("CheckSpec", errors) from None


def check_spec_type() -> Any:
    """The discriminated union of every registered spec, as an annotation for pydantic fields.

    Built from the registry as it is now (cached until another check type is registered)."""
    return _spec_type_and_adapter()[0]


def _spec_type_and_adapter() -> tuple[Any, TypeAdapter]:
    names = tuple(sorted(_REGISTRY))
    if names not in _spec_type_cache:
        specs = tuple(_REGISTRY[n].spec for n in names)
        union = Union[specs] if len(specs) > 1 else specs[0]  # noqa: UP007 - built at run time
        annotation = Annotated[union, Field(discriminator="type"), WrapValidator(_check_tag_then_validate)]
        _spec_type_cache[names] = (annotation, TypeAdapter(annotation))
    return _spec_type_cache[names]


def parse_check(data: Mapping[str, Any]) -> CheckOptions:
    """Validate `{type: ..., <options>}` into a spec; raises pydantic's ValidationError, located at the key."""
    return _spec_type_and_adapter()[1].validate_python(data)


def run(spec: CheckOptions | Mapping[str, Any], response: str, prompt: str | None = None) -> CheckOutcome:
    """Run one check on one response, as written (IFEval's "strict")."""
    if isinstance(spec, Mapping):
        spec = parse_check(spec)
    return _REGISTRY[spec.type].function(spec, response, prompt)


def loose_variants(response: str) -> list[tuple[str, str]]:
    """(label, text) of the response variants the IFEval paper's loose accuracy tries, in its order.

    The response as is, without its first line, without its last line, without both; and each of
    those with every `*` removed (markdown emphasis). Identical variants are tried once.
    """
    lines = response.split("\n")
    base = [("as written", response),
            ("without the first line", "\n".join(lines[1:]).strip()),
            ("without the last line", "\n".join(lines[:-1]).strip()),
            ("without the first and last lines", "\n".join(lines[1:-1]).strip())]
    variants = base + [(f"{label}, '*' removed" if label != "as written" else "with '*' removed",
                        text.replace("*", "")) for label, text in base]
    seen: set[str] = set()
    unique = []
    for label, text in variants:
        if text not in seen:
            seen.add(text)
            unique.append((label, text))
    return unique


def run_loose(spec: CheckOptions | Mapping[str, Any], response: str, prompt: str | None = None) -> CheckOutcome:
    """IFEval's "loose" verdict: met if the response, or any of its loose variants, passes."""
    if isinstance(spec, Mapping):
        spec = parse_check(spec)
    return _loose(spec, response, prompt, run(spec, response, prompt))


def _loose(spec: CheckOptions, response: str, prompt: str | None, strict: CheckOutcome) -> CheckOutcome:
    if strict.met:
        return strict
    for label, text in loose_variants(response)[1:]:
        outcome = run(spec, text, prompt)
        if outcome.met:
            return CheckOutcome(True, f"{label}: {outcome.detail}")
    return CheckOutcome(False, f"{strict.detail} (no loose variant passes either)")


def run_both(spec: CheckOptions | Mapping[str, Any], response: str,
             prompt: str | None = None) -> tuple[CheckOutcome, CheckOutcome]:
    """(strict, loose) outcomes of one check on one response."""
    if isinstance(spec, Mapping):
        spec = parse_check(spec)
    strict = run(spec, response, prompt)
    return strict, _loose(spec, response, prompt, strict)
