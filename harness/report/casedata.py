"""The cases as data for the page's case browser: one compact JSON document, embedded once.

Small runs (up to STATIC_ANSWER_LIMIT answers, cases x models) are also laid out as HTML by the template, so
the page reads in full with JavaScript off; the browser script then filters and pages the same cases. Larger
runs are rendered on demand from the data alone: 8 models x 2,000 cases of 200-token answers are about 13 MB
of answer text, so their JSON is gzip-compressed and base64-encoded (the browser inflates it with its own
DecompressionStream; nothing is fetched).

Model output goes into a <script> element, where HTML escaping does not apply: `</script>` or `<!--` inside
an answer would end or confuse the element. The JSON therefore carries `<`, `>` and `&` as \\u escapes (which
JSON.parse reads back unchanged), and U+2028/U+2029 too, which some JavaScript parsers take for line ends.
Figures shown to the reader are formatted here, by the report's formatter, never by the script.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from markupsafe import Markup

from ..results.model import CaseResult, Results
from . import formatting as fmt
from .view import orders_disagree

# Up to this many answers (cases x models) every case is also written into the page as HTML.
STATIC_ANSWER_LIMIT = 1000
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def answer_count(results: Results) -> int:
    return sum(len(case.answers) for case in results.cases)


def is_static(results: Results) -> bool:
    """True when the page lays every case out as HTML (readable with JavaScript off)."""
    return answer_count(results) <= STATIC_ANSWER_LIMIT


def script_json(payload: Any) -> str:
    """JSON text that can sit inside a <script> element as it is: no `<`, `>`, `&`, U+2028 or U+2029 in it."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in _SCRIPT_ESCAPES.items():
        text = text.replace(char, escape)
    return text


def compressed(payload: Any) -> str:
    """The JSON gzip-compressed (no time stamp, so the same data give the same page) and base64-encoded."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return base64.b64encode(gzip.compress(data, compresslevel=6, mtime=0)).decode("ascii")


def decode_embedded(text: str, encoding: str) -> Any:
    """The payload back from its embedded form (for tests and tools reading a report)."""
    if encoding == "gzip-base64":
        return json.loads(gzip.decompress(base64.b64decode(text)).decode("utf-8"))
    return json.loads(text)


def embedded_cases(results: Results, model_order: list[str]) -> dict:
    """What the template embeds: the encoded text (safe inside <script>), its encoding and whether the cases are
    also laid out as HTML."""
    payload = case_payload(results, model_order)
    static = is_static(results)
    text = script_json(payload) if static else compressed(payload)
    return {"text": Markup(text), "encoding": "json" if static else "gzip-base64", "static": static,
            "answers": answer_count(results), "limit": STATIC_ANSWER_LIMIT}


def case_payload(results: Results, model_order: list[str]) -> dict:
    """Every case in a compact form: models, judges, criteria, axes and flags are listed once and referred to by
    position. An answer is {t: text, e: error, f: flags, s: score, S: score shown, g: graded, m: timing shown,
    x: {axis position: score shown}, c: [[criterion position, met 1/0/null, source, detail, reasons]]}; a model
    without an answer to a case has null in its place. Judgments: {r: rep, o: order, k: ranking (model
    positions), j: judge position, p: pair, e: error, n: attempts, w: the judge's reasons}. Reasons appear once
    the results carry them (a `rationale` on judgments and criteria)."""
    models = list(model_order)
    for case in results.cases:
        named = list(case.answers)
        named += [m for j in case.judgments for m in [*j.order, *(j.ranking or []), *(j.pair or [])]]
        models += [m for m in dict.fromkeys(named) if m not in models]
    criteria, criterion_index = _criteria(results)
    axes: list[str] = []
    judges: list[str] = []
    flags: list[str] = []
    tags: list[str] = []
    cases = []
    for case in results.cases:
        tags += [t for t in case.tags if t not in tags]
        answers = []
        for model in models:
            answer = case.answers.get(model)
            if answer is None:
                answers.append(None)
                continue
            flags += [f for f in answer.flags if f not in flags]
            answers.append(_answer(answer, axes, criteria, criterion_index))
        cases.append({
            "id": case.id, "tags": case.tags,
            "messages": [[m.get("role", ""), _text(m.get("content"))] for m in case.messages],
            "reference": None if case.reference is None else _text(case.reference),
            "disagree": orders_disagree(case.judgments),
            "answers": answers,
            "judgments": _judgments(case, models, judges),
        })
    return {"run": results.run_id, "models": models, "judges": judges, "criteria": criteria, "axes": axes,
            "flags": flags, "tags": tags, "cases": cases}


def _criteria(results: Results) -> tuple[list[dict], dict[str, int]]:
    """The rubric's criteria (with their wording, when the run recorded the rubric), then any others graded."""
    criteria: list[dict] = []
    rubric = results.spec.rubric if results.spec and results.spec.rubric else {}
    for entry in rubric.get("criteria") or []:
        if isinstance(entry, dict) and entry.get("id") is not None:
            criteria.append(_criterion(str(entry["id"]), entry.get("axis"), entry.get("points"), entry.get("text")))
    index = {c["id"]: i for i, c in enumerate(criteria)}
    for case in results.cases:
        for answer in case.answers.values():
            for row in answer.criteria:
                if row.id not in index:
                    index[row.id] = len(criteria)
                    criteria.append(_criterion(row.id, row.axis, row.points, None))
    return criteria, index


def _criterion(criterion_id: str, axis: Any, points: Any, text: Any) -> dict:
    return {"id": criterion_id, "axis": axis, "points": fmt.count(points),
            "negative": fmt.is_number(points) and points < 0, "text": text or ""}


def _answer(answer, axes: list[str], criteria: list[dict], criterion_index: dict[str, int]) -> dict:
    shown: dict[str, Any] = {"t": answer.text, "s": answer.score, "S": fmt.score(answer.score)}
    if answer.error:
        shown["e"] = answer.error
    if answer.flags:
        shown["f"] = list(answer.flags)
    if answer.graded is not None:
        shown["g"] = answer.graded
    timing = fmt.timing({"ttft_s": answer.ttft_s, "latency_s": answer.latency_s,
                         "output_tokens": answer.output_tokens, "tokens_per_s": answer.tokens_per_s})
    if timing:
        shown["m"] = timing
    if answer.axes:
        for axis in answer.axes:
            if axis not in axes:
                axes.append(axis)
        shown["x"] = {str(axes.index(axis)): fmt.score(value) for axis, value in answer.axes.items()}
    if answer.criteria:
        rows = []
        for row in answer.criteria:
            met = None if row.met is None else int(row.met)
            entry = [criterion_index[row.id], met, row.source or ""]
            rationale = getattr(row, "rationale", None)  # the grader's reasons, once results carry them
            if row.detail or rationale:
                entry.append(row.detail or "")
            if rationale:
                entry.append(rationale)
            rows.append(entry)
        shown["c"] = rows
    return shown


def _judgments(case: CaseResult, models: list[str], judges: list[str]) -> list[dict]:
    position = {model: i for i, model in enumerate(models)}.__getitem__
    out = []
    for j in case.judgments:
        if j.judge is not None and j.judge not in judges:
            judges.append(j.judge)
        row: dict[str, Any] = {"r": j.rep, "o": [position(m) for m in j.order], "n": j.attempts}
        if j.ranking is not None:
            row["k"] = [position(m) for m in j.ranking]
        if j.strength:
            row["s"] = j.strength
        if j.judge is not None:
            row["j"] = judges.index(j.judge)
        if j.pair:
            row["p"] = [position(m) for m in j.pair]
        if j.error:
            row["e"] = j.error
        rationale = getattr(j, "rationale", None)  # the judge's reasons, once results carry them
        if rationale:
            row["w"] = rationale
        out.append(row)
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
