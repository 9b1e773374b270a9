"""Write suites/alpaca-eval-format-sample.json: the Arena-Hard sample in AlpacaEval's file format.

    .venv/bin/python scripts/make_alpaca_format_sample.py [--check]

No AlpacaEval data ships with bench: its evaluation set is not in the project's public samples, and the
alpaca-eval package fetches it at run time. To run the alpaca-eval case format end to end on real text, this
script recasts the 20 Arena-Hard v2.0 sample questions (suites/arena-hard-sample.jsonl) as AlpacaEval rows:
each question is an `instruction`, gemini-2.0-flash-001's Arena-Hard answer to it is the reference `output`
(AlpacaEval's set is the output list of its reference generator), and `dataset` names the Arena-Hard category.
The rows are AlpacaEval's format, not AlpacaEval's questions. `--check` exits 1 when the file differs from what
the script would write.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "suites" / "arena-hard-sample.jsonl"
ANSWERS = ROOT / "suites" / "arena-hard-sample-answers-gemini-2.0-flash-001.jsonl"
OUT = ROOT / "suites" / "alpaca-eval-format-sample.json"


def rows() -> list[dict[str, str]]:
    from harness.answer_files import read_answers
    from harness.case_formats import load_arena_hard

    answers = read_answers(ANSWERS)
    if answers.problems:
        raise SystemExit(str(answers.problems[0]))
    out = []
    for case in load_arena_hard(QUESTIONS):
        answer = answers.answers[(case.id, 1)]
        out.append({"instruction": case.messages[0].content, "output": answer.text, "generator": answer.model,
                    "dataset": f"arena-hard-v2.0/{case.meta['category']}"})
    return out


def rendered() -> str:
    return json.dumps(rows(), indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare the file with what would be written")
    args = parser.parse_args()
    text = rendered()
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT.relative_to(ROOT)} is {'up to date' if same else 'out of date'}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(json.loads(text))} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
