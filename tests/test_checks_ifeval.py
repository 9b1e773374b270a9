"""Each IFEval instruction as a check: hand-made answers that follow it and answers that do not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.checks import IFEVAL_INSTRUCTION_IDS, CheckOutcome, parse_check, run, run_loose
from harness.checks._text import count_sentences, count_words

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "ifeval_sample.jsonl"
if not SAMPLE.exists():
    SAMPLE = Path("/work/shared/data/ifeval_sample.jsonl")


def verdict(instruction: str, response: str, prompt: str | None = None, **kwargs) -> CheckOutcome:
    return run(parse_check({"type": instruction, **kwargs}), response, prompt)


def test_keywords_existence():
    kw = {"keywords": ["dog", "day"]}
    assert verdict("keywords:existence", "A DOG has a good Day.", **kw) == CheckOutcome(True, "found all 2 keywords")
    assert verdict("keywords:existence", "A dog sleeps.", **kw) == \
        CheckOutcome(False, "missing 1 of 2 keywords: ['day']")


def test_keywords_frequency():
    kw = {"keyword": "war", "frequency": 3, "relation": "at least"}
    assert verdict("keywords:frequency", "War. war! WAR?", **kw) == \
        CheckOutcome(True, "found 'war' 3 times (needs at least 3)")
    assert not verdict("keywords:frequency", "War and peace, war.", **kw).met
    less = {"keyword": "sarah", "frequency": 2, "relation": "less than"}
    assert verdict("keywords:frequency", "Sarah went home.", **less).met
    assert verdict("keywords:frequency", "Sarah met sarah.", **less) == \
        CheckOutcome(False, "found 'sarah' 2 times (needs less than 2)")
    # The keyword is taken literally, not as a regular expression.
    assert verdict("keywords:frequency", "a+b", keyword="a+b", frequency=1, relation="at least").met


def test_keywords_forbidden_words():
    kw = {"forbidden_words": ["yes", "no"]}
    assert verdict("keywords:forbidden_words", "Nobody knows; yesterday it rained.", **kw) == \
        CheckOutcome(True, "no forbidden word found")
    assert verdict("keywords:forbidden_words", "Well, YES. And no.", **kw) == \
        CheckOutcome(False, "found forbidden words ['yes', 'no']")


def test_keywords_letter_frequency():
    kw = {"letter": "l", "let_frequency": 6, "let_relation": "at least"}
    assert verdict("keywords:letter_frequency", "Lily likes lollipops", **kw) == \
        CheckOutcome(True, "found the letter 'l' 6 times (needs at least 6)")
    assert not verdict("keywords:letter_frequency", "Hello world", **kw).met  # 3
    less = {"letter": "e", "let_frequency": 2, "let_relation": "less than"}
    assert verdict("keywords:letter_frequency", "cat dog E", **less).met
    assert not verdict("keywords:letter_frequency", "eel", **less).met


def test_response_language():
    german = "Heute ist ein schöner Tag, und ich gehe mit meinem Hund im Park spazieren."
    english = "Today is a beautiful day and I am walking my dog in the park."
    outcome = verdict("language:response_language", german, language="de")
    assert outcome.met and outcome.detail.startswith("detected 'de' (p=")
    outcome = verdict("language:response_language", english, language="de")
    assert not outcome.met and outcome.detail.startswith("detected 'en'")
    assert verdict("language:response_language", "Hii ni siku nzuri sana na ninaenda sokoni leo.", language="sw").met
    assert verdict("language:response_language", "12345 678", language="de") == \
        CheckOutcome(False, "no language detected")
    with pytest.raises(ValidationError, match="unknown language code 'xx'"):
        parse_check({"type": "language:response_language", "language": "xx"})


def test_number_sentences():
    text = "Dr. Smith arrived at 3.15 on Monday. He was late! Was it the train? Nobody knows."
    assert count_sentences(text) == 4
    assert verdict("length_constraints:number_sentences", text, num_sentences=4, relation="at least") == \
        CheckOutcome(True, "4 sentences (needs at least 4)")
    assert not verdict("length_constraints:number_sentences", text, num_sentences=4, relation="less than").met
    assert verdict("length_constraints:number_sentences", text, num_sentences=5, relation="less than").met
    # "1." numbers an item, it is no sentence of its own; a line break alone ends no sentence.
    assert count_sentences("Steps.\n1. Boil water.\n2. Add tea.") == 3
    assert count_sentences("Steps:\n1. Boil water.\n2. Add tea.") == 2


def test_number_words():
    text = "It's a 3-day trip, isn't it?"  # it s a 3 day trip isn t it: 9 runs of word characters
    assert count_words(text) == 9
    assert verdict("length_constraints:number_words", text, num_words=10, relation="less than") == \
        CheckOutcome(True, "9 words (needs less than 10)")
    assert not verdict("length_constraints:number_words", text, num_words=10, relation="at least").met


def test_number_paragraphs():
    three = "First part.\n\n***\n\nSecond part.\n***\nThird part."
    assert verdict("length_constraints:number_paragraphs", three, num_paragraphs=3) == \
        CheckOutcome(True, "3 paragraphs separated by *** (needs exactly 3)")
    assert not verdict("length_constraints:number_paragraphs", three, num_paragraphs=2).met
    # Dividers at the ends do not make paragraphs; an empty one in the middle breaks the format.
    assert verdict("length_constraints:number_paragraphs", "***\nA\n***\nB\n***", num_paragraphs=2).met
    assert verdict("length_constraints:number_paragraphs", "A\n***\n***\nB", num_paragraphs=2) == \
        CheckOutcome(False, "an empty paragraph between two *** dividers")


def test_nth_paragraph_first_word():
    kw = {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "However"}
    text = "The plan is set.\n\n\"However, the weather may change.\"\n\nWe will see."
    assert verdict("length_constraints:nth_paragraph_first_word", text, **kw) == \
        CheckOutcome(True, "paragraph 2 starts with 'however' (needs 'However')")
    wrong_word = "The plan is set.\n\nBut the weather may change.\n\nWe will see."
    assert verdict("length_constraints:nth_paragraph_first_word", wrong_word, **kw) == \
        CheckOutcome(False, "paragraph 2 starts with 'but' (needs 'However')")
    two = "The plan is set.\n\nHowever, it may rain."
    assert verdict("length_constraints:nth_paragraph_first_word", two, **kw) == \
        CheckOutcome(False, "2 paragraphs (needs exactly 3)")
    with pytest.raises(ValidationError, match="beyond num_paragraphs"):
        parse_check({"type": "length_constraints:nth_paragraph_first_word", "num_paragraphs": 2,
                     "nth_paragraph": 3, "first_word": "x"})


def test_number_placeholders():
    text = "Dear [name], your order [order id] ships to [address]. See [] for nothing."
    assert verdict("detectable_content:number_placeholders", text, num_placeholders=3) == \
        CheckOutcome(True, "found 3 placeholders (needs at least 3)")
    assert not verdict("detectable_content:number_placeholders", text, num_placeholders=4).met


def test_postscript():
    letter = "Dear Ann,\nSee you soon.\n\nP.P.S. Bring the map."
    assert verdict("detectable_content:postscript", letter, postscript_marker="P.P.S") == \
        CheckOutcome(True, "found 'P.P.S'")
    assert verdict("detectable_content:postscript", "Hi.\np. s. call me", postscript_marker="P.S.").met
    assert verdict("detectable_content:postscript", "Dear Ann,\nSee you soon.", postscript_marker="P.S.") == \
        CheckOutcome(False, "no postscript marked 'P.S.'")


def test_number_bullet_lists():
    text = "Intro\n* one\n* two\n  - nested three\n+ four\n---\n*emphasis* is not a bullet"
    assert verdict("detectable_format:number_bullet_lists", text, num_bullets=4) == \
        CheckOutcome(True, "found 4 bullet points (needs exactly 4)")
    assert not verdict("detectable_format:number_bullet_lists", text, num_bullets=5).met


def test_constrained_response():
    assert verdict("detectable_format:constrained_response", "I think so. My answer is maybe.") == \
        CheckOutcome(True, "contains 'My answer is maybe.'")
    assert verdict("detectable_format:constrained_response", "My answer is yes") == \
        CheckOutcome(False, "none of the three answers")


def test_number_highlighted_sections():
    text = "*Funny Fighting* is **the best** game. * not this * ** ** and *also this*."
    assert verdict("detectable_format:number_highlighted_sections", text, num_highlights=3) == \
        CheckOutcome(True, "found 4 highlighted sections (needs at least 3)")
    assert verdict("detectable_format:number_highlighted_sections", "Plain **one** text.", num_highlights=2) == \
        CheckOutcome(False, "found 1 highlighted section (needs at least 2)")


def test_multiple_sections():
    text = "SECTION 1\nIntro\nSECTION 2\nBody\n**SECTION 3**\nEnd"
    kw = {"section_spliter": "SECTION", "num_sections": 3}
    assert verdict("detectable_format:multiple_sections", text, **kw) == \
        CheckOutcome(True, "found 3 'SECTION N' markers (needs at least 3)")
    assert not verdict("detectable_format:multiple_sections", text.replace("SECTION", "Section"), **kw).met


def test_json_format():
    assert verdict("detectable_format:json_format", '```json\n{"a": [1, 2]}\n```') == \
        CheckOutcome(True, "valid JSON (dict)")
    assert verdict("detectable_format:json_format", '  [1, 2] ') == CheckOutcome(True, "valid JSON (list)")
    outcome = verdict("detectable_format:json_format", 'Here is the JSON: {"a": 1}')
    assert not outcome.met and outcome.detail == "not JSON: Expecting value at line 1 column 1"


def test_title():
    assert verdict("detectable_format:title", "<<Ode to Joy>>\nA poem.") == CheckOutcome(True, "title 'Ode to Joy'")
    assert verdict("detectable_format:title", "<< >>\nA poem about <joy>.") == CheckOutcome(False, "no <<title>> found")


def test_two_responses():
    assert verdict("combination:two_responses", "First answer.\n******\nSecond answer.") == \
        CheckOutcome(True, "two different responses")
    assert verdict("combination:two_responses", "Same.\n******\nSame.") == \
        CheckOutcome(False, "the two responses are the same")
    assert verdict("combination:two_responses", "One.\n******\n******\nTwo.") == \
        CheckOutcome(False, "an empty response between two ****** separators")
    assert verdict("combination:two_responses", "Only one.") == \
        CheckOutcome(False, "1 response separated by ****** (needs exactly 2)")


def test_repeat_prompt():
    request = "Write a story about a man. Put the name in <<brackets>>."
    answer = request.upper() + "\n\n<<The Man>> Once upon a time..."
    assert verdict("combination:repeat_prompt", answer, prompt_to_repeat=request).met
    outcome = verdict("combination:repeat_prompt", "Write a story about a dog.", prompt_to_repeat=request)
    assert outcome == CheckOutcome(False, "differs from the request after 22 of 56 characters")
    # In a rubric the request may be left out: the case's prompt is what must be repeated.
    assert verdict("combination:repeat_prompt", answer, prompt=request).met
    assert not verdict("combination:repeat_prompt", answer).met


def test_end_checker():
    kw = {"end_phrase": "Is there anything else I can help with?"}
    assert verdict("startend:end_checker", 'Done. "is there anything else I can help with?"\n', **kw).met
    outcome = verdict("startend:end_checker", "Is there anything else I can help with? Bye.", **kw)
    assert not outcome.met and outcome.detail.endswith("help with? Bye.'")


def test_quotation():
    assert verdict("startend:quotation", '  "Fight for fun!"  ') == \
        CheckOutcome(True, "starts with '\"' and ends with '\"'")
    assert verdict("startend:quotation", "\u201cFight for fun!\u201d").met
    assert verdict("startend:quotation", '"Fight" for fun') == \
        CheckOutcome(False, "starts with '\"' and ends with 'n'")
    assert not verdict("startend:quotation", '"').met


def test_capital_word_frequency():
    text = "I FROZE when I was JOGGING, it was SO COLD."  # I, FROZE, I, JOGGING, SO, COLD
    assert verdict("change_case:capital_word_frequency", text, capital_frequency=5, capital_relation="at least") == \
        CheckOutcome(True, "6 all-capital words (needs at least 5)")
    assert not verdict("change_case:capital_word_frequency", text,
                       capital_frequency=6, capital_relation="less than").met


def test_english_capital_and_lowercase():
    shout = "THIS IS A LIST OF NAMES THAT I LIKE VERY MUCH FOR MY NEW PROJECT."
    assert verdict("change_case:english_capital", shout) == CheckOutcome(True, "all capitals, in English")
    assert verdict("change_case:english_capital", shout[:-4] + "ct.") == CheckOutcome(False, "2 lower-case letters")
    german = "DAS IST EINE LISTE VON NAMEN, DIE ICH FÜR MEIN NEUES PROJEKT SEHR GERNE MAG."
    outcome = verdict("change_case:english_capital", german)
    assert not outcome.met and outcome.detail.startswith("all capitals, but the language detected is 'de'")
    quiet = shout.lower()
    assert verdict("change_case:english_lowercase", quiet) == CheckOutcome(True, "all lower case, in English")
    assert verdict("change_case:english_lowercase", "this is fine, Mostly.") == CheckOutcome(False, "1 capital letter")


def test_no_comma():
    assert verdict("punctuation:no_comma", "No commas here; none at all.") == CheckOutcome(True, "found 0 commas")
    assert verdict("punctuation:no_comma", "One, two, three") == CheckOutcome(False, "found 2 commas")
    assert verdict("punctuation:no_comma", "中文\uff0c逗号") == CheckOutcome(False, "found 1 comma")


def test_a_blank_response_follows_no_instruction():
    for instruction in ("punctuation:no_comma", "keywords:forbidden_words", "change_case:english_lowercase"):
        spec = {"type": instruction}
        if instruction == "keywords:forbidden_words":
            spec["forbidden_words"] = ["x"]
        assert run(parse_check(spec), "  \n") == CheckOutcome(False, "empty response")
        assert run_loose(parse_check(spec), "\n") == \
            CheckOutcome(False, "empty response (no loose variant passes either)")


def test_every_instruction_in_the_sample_is_registered_and_its_kwargs_validate():
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    assert len(rows) == 60
    seen = set()
    for row in rows:
        for instruction, kwargs in zip(row["instruction_id_list"], row["kwargs"], strict=True):
            assert instruction in IFEVAL_INSTRUCTION_IDS
            spec = parse_check({"type": instruction, **kwargs})
            assert spec.type == instruction
            outcome = run(spec, "A short answer, in English.", row["prompt"])
            assert isinstance(outcome.met, bool) and outcome.detail
            seen.add(instruction)
    assert len(seen) == 22


def test_every_ifeval_type_is_tested_here():
    source = Path(__file__).read_text()
    untested = [i for i in IFEVAL_INSTRUCTION_IDS if f'"{i}"' not in source]
    assert untested == []
