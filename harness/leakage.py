"""Train/eval overlap: refuse training examples that repeat or paraphrase a case of an evaluation suite.

A model trained on the questions it is then scored on has a score that means nothing, so the training
recipes drop any example whose user turns are too close to the user turns of any suite case. Three tests,
from strict to loose, all on normalized text:

- exact: the same words in the same order (case, punctuation and spacing ignored);
- near-duplicate: word 3-gram shingles with a Jaccard similarity of at least `shingle_jaccard`
  (a copy with a few words changed);
- paraphrase: the content words (stop words dropped, light stemming) overlap with a Jaccard of at least
  `content_jaccard`, or the smaller text's content words lie for at least `content_containment` inside
  the other's (a reworded case keeps its facts: age, symptom, duration, medicine).

Command line: `python -m harness.leakage TRAIN.jsonl [--suites suites]` lists leaked examples, exit 1 if any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .yamlfile import read_jsonl
from .errors import ConfigError

STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves im ive
dont doesnt didnt cant its also get got just really like since still yet ok okay hi hello thanks thank
please bit lot much many
""".split())

_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = ("ingly", "edly", "ing", "ed", "ies", "es", "ly", "s")


@dataclass(frozen=True)
class Thresholds:
    shingle_jaccard: float = 0.5
    content_jaccard: float = 0.6
    content_containment: float = 0.8
    min_content_words: int = 4  # below this the content tests say nothing (too few words to judge)


@dataclass(frozen=True)
class TextFeatures:
    normalized: str
    shingles: frozenset[tuple[str, ...]]
    content: frozenset[str]


@dataclass(frozen=True)
class EvalCase:
    suite: str
    case_id: str
    user_text: str


@dataclass
class Leak:
    train_index: int
    suite: str
    case_id: str
    kind: str  # "exact" | "near-duplicate" | "paraphrase"
    shingle_jaccard: float
    content_jaccard: float
    content_containment: float
    train_text: str = field(repr=False, default="")

    def describe(self) -> str:
        return (f"training example {self.train_index} is a {self.kind} of {self.suite}:{self.case_id} "
                f"(shingle Jaccard {self.shingle_jaccard:.2f}, content Jaccard {self.content_jaccard:.2f}, "
                f"containment {self.content_containment:.2f})")


# ---------------------------------------------------------------- text features

def normalize(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower().replace("'", "").replace("\u2019", "")
    return " ".join(_WORD.findall(folded))


def stem(word: str) -> str:
    # Just enough to make "vomiting"/"vomited"/"vomits" and "headaches"/"headache" meet.
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def features(text: str, n: int = 3) -> TextFeatures:
    normalized = normalize(text)
    words = normalized.split()
    shingles = frozenset(tuple(words[i:i + n]) for i in range(max(len(words) - n + 1, 1))) if words else frozenset()
    content = frozenset(stem(w) for w in words if w not in STOP_WORDS and (len(w) > 2 or w.isdigit()))
    return TextFeatures(normalized, shingles, content)


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def containment(a: frozenset, b: frozenset) -> float:
    """The share of the smaller set that lies inside the larger one."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def user_text(messages: Iterable[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")


def classify(train: TextFeatures, case: TextFeatures, thresholds: Thresholds = Thresholds()) -> tuple[str | None, dict]:
    """The kind of overlap between two texts (None if none) and the figures behind it."""
    figures = {
        "shingle_jaccard": jaccard(train.shingles, case.shingles),
        "content_jaccard": jaccard(train.content, case.content),
        "content_containment": containment(train.content, case.content),
    }
    if train.normalized and train.normalized == case.normalized:
        return "exact", figures
    if figures["shingle_jaccard"] >= thresholds.shingle_jaccard:
        return "near-duplicate", figures
    enough_words = min(len(train.content), len(case.content)) >= thresholds.min_content_words
    if enough_words and (figures["content_jaccard"] >= thresholds.content_jaccard
                         or figures["content_containment"] >= thresholds.content_containment):
        return "paraphrase", figures
    return None, figures


# ---------------------------------------------------------------- the check

def find_leaks(train_examples: list[list[dict[str, Any]]], eval_cases: list[EvalCase],
               thresholds: Thresholds = Thresholds()) -> list[Leak]:
    """Every (training example, eval case) pair that overlaps, strongest kind first per example."""
    case_features = [(case, features(case.user_text)) for case in eval_cases]
    # Only pairs sharing a content word can be paraphrases or duplicates: an index keeps this linear-ish.
    by_word: dict[str, set[int]] = {}
    for i, (_, feats) in enumerate(case_features):
        for word in feats.content:
            by_word.setdefault(word, set()).add(i)
    leaks = []
    for index, messages in enumerate(train_examples):
        text = user_text(messages)
        train = features(text)
        candidates = set().union(*(by_word.get(w, set()) for w in train.content)) if train.content else set()
        candidates |= {i for i, (_, f) in enumerate(case_features) if f.normalized == train.normalized}
        for i in sorted(candidates):
            case, feats = case_features[i]
            kind, figures = classify(train, feats, thresholds)
            if kind:
                leaks.append(Leak(index, case.suite, case.case_id, kind, train_text=text, **figures))
    return leaks


def filter_leaked(train_examples: list[list[dict[str, Any]]], eval_cases: list[EvalCase],
                  thresholds: Thresholds = Thresholds()) -> tuple[list[int], list[Leak]]:
    """(indices of the examples that may be trained on, the leaks that refused the others)."""
    leaks = find_leaks(train_examples, eval_cases, thresholds)
    refused = {leak.train_index for leak in leaks}
    return [i for i in range(len(train_examples)) if i not in refused], leaks


# ---------------------------------------------------------------- loading

def load_eval_cases(suites_dir: Path = Path("suites"), extra_files: Iterable[Path] = ()) -> list[EvalCase]:
    """The user turns of every case of every suite under `suites_dir` (each suite's `cases` file), plus any
    extra case files. The project's case format ({"id", "messages"}) and HealthBench's ({"prompt_id", "prompt"})
    are read raw, so that a suite with another problem still gets checked; the public formats (IFEval, MT-bench
    with both turns, Arena-Hard, AlpacaEval) through their readers."""
    from .case_formats import CASE_READERS
    from .yamlfile import load_yaml

    files: list[tuple[str, Path, str]] = []
    for suite_path in sorted(Path(suites_dir).glob("*.y*ml")):
        data, _ = load_yaml(suite_path)
        if isinstance(data, dict) and isinstance(data.get("cases"), str):
            files.append((str(data.get("name") or suite_path.stem), suite_path.parent / data["cases"],
                          str(data.get("case_format") or "bench")))
    files += [(Path(p).stem, Path(p), "bench") for p in extra_files]
    cases: list[EvalCase] = []
    seen_files: set[Path] = set()
    for suite_name, path, case_format in files:
        if path.resolve() in seen_files:
            continue
        seen_files.add(path.resolve())
        if case_format not in ("bench", "healthbench") and case_format in CASE_READERS:
            # A public format (IFEval, MT-bench, ...): its reader knows where the user's words are.
            cases += [EvalCase(suite_name, case.id, "\n".join([user_text(case.chat()), *case.turns]))
                      for case in CASE_READERS[case_format](path)]
            continue
        for lineno, row in read_jsonl(path, "file"):
            messages = row.get("messages") or row.get("prompt")
            if not isinstance(messages, list):
                raise ConfigError("a case needs 'messages' (or HealthBench 'prompt')", path=str(path), line=lineno)
            case_id = str(row.get("id") or row.get("prompt_id") or f"line-{lineno}")
            cases.append(EvalCase(suite_name, case_id, user_text(messages)))
    return cases


def load_chat_jsonl(path: Path) -> list[list[dict[str, Any]]]:
    examples = []
    for lineno, row in read_jsonl(Path(path), "file"):
        messages = row.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m and "content" in m
                                                     for m in messages):
            raise ConfigError("expected {\"messages\": [{\"role\", \"content\"}, ...]}", path=str(path), line=lineno)
        examples.append(messages)
    return examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.leakage", description=__doc__.split("\n\n")[0])
    parser.add_argument("train", type=Path, help="chat-format JSONL ({\"messages\": [...]} per line)")
    parser.add_argument("--suites", type=Path, default=Path("suites"))
    parser.add_argument("--cases", type=Path, action="append", default=[], help="an extra eval case file")
    parser.add_argument("--json", action="store_true", help="print the leaks as JSON lines")
    args = parser.parse_args(argv)
    try:
        examples = load_chat_jsonl(args.train)
        cases = load_eval_cases(args.suites, args.cases)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    leaks = find_leaks(examples, cases)
    for leak in leaks:
        print(json.dumps({k: v for k, v in asdict(leak).items() if k != "train_text"}) if args.json
              else leak.describe())
    refused = len({leak.train_index for leak in leaks})
    print(f"{refused} of {len(examples)} training examples overlap {len(cases)} eval cases", file=sys.stderr)
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
