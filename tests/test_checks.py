"""The check registry and bench's own checks (regex, contains, not_contains, sections, word_limit)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

import harness.checks as checks
from harness.checks import CheckOptions, CheckOutcome, loose_variants, parse_check, register, run, run_both, run_loose

SBAR = """**Situation:** cough for 3 weeks.
Background - smoker, 40 pack-years.
## Assessment
Symptoms need a clinician's review.
R: Recommendation: book an appointment this week."""


def check(**spec):
    return parse_check(spec)


# ---------------------------------------------------------------- the five checks, as grading.run_check had them

def test_sections_check_accepts_common_heading_styles():
    headings = ["Situation", "Background", "Assessment", "Recommendation"]
    outcome = run(check(type="sections", sections=headings), SBAR)
    assert outcome == CheckOutcome(True, "found 4 of 4 headings")
    numbered = "1. Situation: a\n2) **Background**: b\n3. Assessment - c\n4. Recommendation: d"
    assert run(check(type="sections", sections=headings), numbered).met
    outcome = run(check(type="sections", sections=["Situation", "Plan"]), SBAR)
    assert outcome == CheckOutcome(False, "found 1 of 2 headings; missing ['Plan']")
    # A heading word in the middle of a sentence is not a heading.
    assert not run(check(type="sections", sections=["Assessment"]), "I want an assessment soon.").met


def test_sections_ignore_case_defaults_to_true_as_before():
    assert run(check(type="sections", sections=["Situation"]), "SITUATION: bad").met
    assert not run(check(type="sections", sections=["Situation"], ignore_case=False), "SITUATION: bad").met
    assert run(check(type="sections", sections=["Situation"], ignore_case=False), "Situation: bad").met


def test_regex_contains_word_limit():
    assert run(check(type="regex", pattern=r"\byou have\b"), "Well, You have a cold.") == \
        CheckOutcome(True, "matched 'You have'")
    assert run(check(type="regex", pattern=r"\byou have\b", ignore_case=False), "You have a cold.") == \
        CheckOutcome(False, "no match")
    assert run(check(type="regex", pattern=r"^Plan"), "Intro\nPlan: rest").met  # multi-line mode
    assert run(check(type="contains", phrases=["call", "911"]), "Call 911 now") == \
        CheckOutcome(True, "found 2 of 2: ['call', '911']")
    assert run(check(type="contains", phrases=["call", "999"]), "Call 911 now") == \
        CheckOutcome(False, "found 1 of 2: ['call']")
    assert run(check(type="contains", phrases=["999", "911"], any=True), "Call 911 now").met
    assert not run(check(type="contains", phrases=["CALL"], ignore_case=False), "Call 911 now").met
    assert run(check(type="not_contains", phrases=["ibuprofen"]), "rest") == CheckOutcome(True, "none found")
    assert run(check(type="not_contains", phrases=["ibuprofen"]), "take Ibuprofen") == \
        CheckOutcome(False, "found ['ibuprofen']")
    assert run(check(type="word_limit", max_words=3), "one two three") == CheckOutcome(True, "3 words (limit 3)")
    assert run(check(type="word_limit", max_words=2), "one two three") == CheckOutcome(False, "3 words (limit 2)")


# ---------------------------------------------------------------- validation

class Criterion(BaseModel):
    check: checks.CheckSpec | None = None


def first_error(data):
    with pytest.raises(ValidationError) as info:
        Criterion.model_validate({"check": data})
    err = info.value.errors()[0]
    return ".".join(map(str, err["loc"])), err["msg"]


def test_spec_validation_names_the_key():
    assert first_error({"type": "regex", "pattern": "x", "patern": "y"}) == ("check.patern", "Extra inputs are not permitted")
    assert first_error({"type": "regex"}) == ("check.pattern", "Field required")
    loc, msg = first_error({"type": "regex", "pattern": "(("})
    assert loc == "check.pattern" and "invalid regex" in msg
    assert first_error({"pattern": "x"}) == ("check.type", "Field required")
    assert first_error({"type": "contains", "phrases": []})[0] == "check.phrases"
    assert first_error({"type": "word_limit", "max_words": 0})[0] == "check.max_words"
    # An option of one check type is unknown to another.
    assert first_error({"type": "not_contains", "phrases": ["a"], "any": True}) == \
        ("check.any", "Extra inputs are not permitted")
    assert first_error({"type": "keywords:frequency", "keyword": "x", "frequency": 2, "relation": "more than"}) == \
        ("check.relation", "Input should be 'less than' or 'at least'")


def test_unknown_type_suggests_close_names():
    assert first_error({"type": "regx", "pattern": "a"}) == ("check.type", "unknown check type 'regx' (did you mean 'regex'?)")
    loc, msg = first_error({"type": "no_comma"})
    assert loc == "check.type" and "'punctuation:no_comma'" in msg
    loc, msg = first_error({"type": "keywords:frequncy"})
    assert msg == "unknown check type 'keywords:frequncy' (did you mean 'keywords:frequency'?)"
    assert first_error({"type": "zzzz"}) == ("check.type", "unknown check type 'zzzz'")
    with pytest.raises(KeyError, match="did you mean 'word_limit'"):
        checks.check_type("word_limt")


def test_specs_are_typed_and_immutable():
    spec = Criterion.model_validate({"check": {"type": "word_limit", "max_words": 5}}).check
    assert type(spec).__name__ == "WordLimitSpec" and spec.max_words == 5 and spec.type == "word_limit"
    with pytest.raises(ValidationError):
        spec.max_words = 6
    assert Criterion.model_validate({}).check is None
    assert isinstance(spec, CheckOptions)
    # A spec round-trips through its dump (suite snapshots in results) and is accepted as an instance.
    ifeval = parse_check({"type": "keywords:frequency", "keyword": "war", "frequency": 3, "relation": "at least"})
    dumped = Criterion(check=ifeval).model_dump()
    assert dumped == {"check": {"keyword": "war", "frequency": 3, "relation": "at least", "type": "keywords:frequency"}}
    assert Criterion.model_validate(dumped).check == ifeval


def test_every_check_has_a_summary_and_ifeval_ids_are_registered():
    assert set(checks.IFEVAL_INSTRUCTION_IDS) <= set(checks.known_checks())
    assert len(checks.IFEVAL_INSTRUCTION_IDS) == 25
    assert {"regex", "contains", "not_contains", "sections", "word_limit"} <= set(checks.known_checks())
    assert all(checks.check_type(name).summary for name in checks.known_checks())


def test_registering_a_new_check_extends_the_union(monkeypatch):
    from harness.checks import registry

    # Registered on a copy of the registry, so that other tests see the built-in checks only.
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_spec_type_cache", {})

    class ShoutOptions(CheckOptions):
        min_marks: int = 1

    @register("test:shout", ShoutOptions, "at least `min_marks` exclamation marks")
    def shout(spec, response, prompt=None):
        n = response.count("!")
        return CheckOutcome(n >= spec.min_marks, f"found {n} exclamation marks")

    assert run({"type": "test:shout", "min_marks": 2}, "Hi!!") == CheckOutcome(True, "found 2 exclamation marks")
    assert "test:shout" in checks.known_checks()
    with pytest.raises(ValueError, match="registered twice"):
        register("test:shout", ShoutOptions)(lambda spec, response, prompt=None: None)
    with pytest.raises(TypeError, match="must not define 'type'"):
        class Bad(CheckOptions):
            type: str = "x"
        register("test:bad", Bad)


# ---------------------------------------------------------------- strict and loose

def test_loose_variants_follow_the_paper():
    text = "Sure, here it is:\n**Hello** world\nHope it helps"
    variants = dict(loose_variants(text))
    assert variants == {
        "as written": text,
        "without the first line": "**Hello** world\nHope it helps",
        "without the last line": "Sure, here it is:\n**Hello** world",
        "without the first and last lines": "**Hello** world",
        "with '*' removed": "Sure, here it is:\nHello world\nHope it helps",
        "without the first line, '*' removed": "Hello world\nHope it helps",
        "without the last line, '*' removed": "Sure, here it is:\nHello world",
        "without the first and last lines, '*' removed": "Hello world",
    }
    # Identical variants are tried once: one line without '*' has only itself and the empty text.
    assert loose_variants("one line") == [("as written", "one line"), ("without the first line", "")]


def test_loose_passes_where_strict_fails():
    spec = {"type": "startend:quotation"}
    strict, loose = run_both(spec, 'Here you go:\n"A quoted answer."')
    assert not strict.met and loose.met
    assert loose.detail.startswith("without the first line: ")
    spec = {"type": "regex", "pattern": r"^\w+ world$", "ignore_case": False}
    strict, loose = run_both(spec, "**Hello** world")
    assert (strict.met, loose.met) == (False, True)
    assert loose.detail == "with '*' removed: matched 'Hello world'"
    strict, loose = run_both({"type": "punctuation:no_comma"}, "a, b\nc, d")
    assert (strict.met, loose.met) == (False, False)
    assert loose.detail == "found 2 commas (no loose variant passes either)"
    assert run_loose({"type": "punctuation:no_comma"}, "fine") == run({"type": "punctuation:no_comma"}, "fine")


def test_docs_list_every_check_with_an_example_that_validates():
    import re
    from pathlib import Path

    import yaml

    doc = (Path(__file__).resolve().parents[1] / "docs" / "checks.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| .* \| `(\{type: [^`]+\})`[^|]* \|$", doc, re.MULTILINE)
    assert sorted(name for name, _ in rows) == checks.known_checks()
    for name, example in rows:
        spec = parse_check(yaml.safe_load(example))
        assert spec.type == name


def test_a_type_that_is_not_a_name_is_an_error_at_type_not_a_crash():
    # found by the input fuzzer: `type: []` raised TypeError (unhashable) instead of a located error
    assert first_error({"type": [], "phrases": ["rest"]}) == ("check.type",
                                                              "the check type must be a name such as 'regex'")
    assert first_error({"type": {"a": 1}})[0] == "check.type"
