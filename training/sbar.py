"""The golden SBAR example: the teacher's rewriting prompt, the JSON it must answer with, and its validation.

The teacher answers one JSON object. Either it skips the conversation (trivial, off-topic, no clinical
content) with a reason, or it gives the patient's message rewritten as a self-contained first message
and the four SBAR parts of a safe answer. `validate_answer` is strict: an answer that is not exactly that
object, or whose parts are empty, too short, too long or diagnose, is rejected with the reason, and the
recipe retries with that reason or gives up; a rejected answer is never written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

SBAR_PARTS = ("situation", "background", "assessment", "recommendation")
FIELDS = ("skip", "reason", "patient", *SBAR_PARTS)

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "skip": {"type": "boolean"},
        "reason": {"type": "string"},
        "patient": {"type": "string"},
        **{part: {"type": "string"} for part in SBAR_PARTS},
    },
    "required": list(FIELDS),
    "additionalProperties": False,
}

# The system prompt of the project's golden set (training/data/sbar_train.jsonl), so distilled examples
# and hand-written ones teach the same task.
DEFAULT_SYSTEM_PROMPT = (
    "You are an intake assistant. A patient is preparing for a consultation. Write a note for the clinician in "
    "SBAR form under the headings Situation, Background, Assessment and Recommendation. Restate only what the "
    "patient told you, never give a diagnosis, and if any red-flag symptom appears, tell the patient to call "
    "emergency services now."
)

REWRITE_INSTRUCTIONS = """\
You turn a real conversation between a patient and a health assistant into one training example for a \
clinical intake assistant that answers in SBAR form and never diagnoses.

The conversation:
<conversation>
{transcript}
</conversation>

Answer with one JSON object and nothing else, with exactly these keys:
- "skip": true if the conversation has no clinical content worth teaching (greetings, thanks, off-topic, \
administrative only), else false.
- "reason": when skipping, why in a few words; otherwise "".
- "patient": the patient's situation rewritten as one self-contained first message in the patient's own \
voice (first person), keeping every clinical fact (age, symptoms, onset, duration, medicines, history) and \
no names or other identifying details.
- "situation": what the patient reports now, in one or two sentences.
- "background": the relevant history and context from the conversation.
- "assessment": what the findings suggest about urgency, including any red-flag symptoms. Do NOT name a \
diagnosis and do not say "you have ..."; describe, do not diagnose.
- "recommendation": the concrete next step: who should see the patient and how soon (emergency services \
now, same day, routine), and what to watch for.
When skipping, give "" for "patient" and the four SBAR keys."""

# Phrases by which an assessment or recommendation hands out a diagnosis. Background may quote a past
# diagnosis ("diagnosed with asthma as a child"), so only the two judging parts are checked.
_DISEASE = (r"(?:infection|disease|syndrome|disorder|cancer|\w+itis|\w+osis|flu|influenza|migraine|heart attack|"
            r"stroke|pneumonia|fracture|sprain|diabetes|asthma|allergy|reflux|ulcer|tumou?r|covid)")
_DIAGNOSING = re.compile(
    r"\b(?:(?:you(?: definitely| probably| likely| clearly| most likely)? (?:have|are suffering from|'ve got)|"
    r"(?:this|it)(?: is|'s)(?: most likely| probably| likely| definitely| clearly| certainly)?)"
    r" (?:an? )?(?:[\w-]+ ){0,3}" + _DISEASE + r"|your diagnosis is|i diagnose|you are diagnosed)\b",
    re.IGNORECASE)

LIMITS = {"patient": (5, 250), "situation": (3, 120), "background": (3, 160), "assessment": (3, 120),
          "recommendation": (3, 120)}


@dataclass(frozen=True)
class TeacherAnswer:
    skip: bool
    reason: str
    patient: str = ""
    situation: str = ""
    background: str = ""
    assessment: str = ""
    recommendation: str = ""


class InvalidAnswer(ValueError):
    """The teacher's answer broke the contract; the message says how (it is fed back on a retry)."""


def rewrite_prompt(transcript: str) -> str:
    return REWRITE_INSTRUCTIONS.format(transcript=transcript)


def retry_prompt(transcript: str, rejection: str) -> str:
    return (rewrite_prompt(transcript) + f"\n\nYour previous answer was rejected: {rejection}. "
            "Answer again with only the JSON object.")


def validate_answer(text: str) -> TeacherAnswer:
    """Parse and check one teacher answer; raise InvalidAnswer naming the first problem."""
    body = _strip_code_fence(text.strip())
    if not body:
        raise InvalidAnswer("empty answer")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise InvalidAnswer("the answer is not a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InvalidAnswer(f"unknown key '{unknown[0]}'")
    if not isinstance(data.get("skip"), bool):
        raise InvalidAnswer("missing key 'skip' (true or false)" if "skip" not in data else "'skip' must be a boolean")
    for key in FIELDS[1:]:
        if key in data and not isinstance(data[key], str):
            raise InvalidAnswer(f"'{key}' must be a string")
    if data["skip"]:
        reason = (data.get("reason") or "").strip()
        if not reason:
            raise InvalidAnswer("a skip needs a 'reason'")
        return TeacherAnswer(skip=True, reason=reason)
    parts = {}
    for key in ("patient", *SBAR_PARTS):
        if key not in data:
            raise InvalidAnswer(f"missing key '{key}'")
        value = " ".join(data[key].split())
        low, high = LIMITS[key]
        words = len(value.split())
        if words < low:
            raise InvalidAnswer(f"'{key}' is too short ({words} words, at least {low})")
        if words > high:
            raise InvalidAnswer(f"'{key}' is too long ({words} words, at most {high})")
        parts[key] = value
    for key in ("assessment", "recommendation"):
        match = _DIAGNOSING.search(parts[key])
        if match:
            raise InvalidAnswer(f"'{key}' diagnoses (\"{match.group(0)}\"); describe, do not diagnose")
    return TeacherAnswer(skip=False, reason="", **parts)


def sbar_text(answer: TeacherAnswer) -> str:
    return "\n".join(f"{part.capitalize()}: {getattr(answer, part)}" for part in SBAR_PARTS)


def training_example(answer: TeacherAnswer, system_prompt: str | None) -> dict:
    """The chat-format example `apply_chat_template` takes: system (if any), patient, SBAR answer."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages += [{"role": "user", "content": answer.patient}, {"role": "assistant", "content": sbar_text(answer)}]
    return {"messages": messages}


def _strip_code_fence(text: str) -> str:
    # Chat models often wrap JSON in one ```json fence; that wrapper is not content, anything else is.
    match = re.fullmatch(r"```(?:json)?\s*\n?(.*?)\n?```", text, re.DOTALL)
    return match.group(1).strip() if match else text
