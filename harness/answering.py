"""The answer stage beyond one call per case and model: later turns asked live, what grading reads of each turn,
and how an answers file covers the suite.

A case with later user turns (`Case.turns`, MT-bench) is asked as a conversation: turn 1 like any case, then each
later turn is sent after the model's *own* answer to the turn before (not a fixed history), for generated and
file answers alike. A turn that fails ends the conversation: the answer fails with that turn's error, and the
turns after it are not asked. Single-turn cases never come here: their path is unchanged.
"""

from __future__ import annotations

import dataclasses

from .adapters.base import Adapter, Completion, Message
from .cases import Case
from .executor import Call, Executor
from .records import Answer


def expected_turns(cases: list[Case]) -> list[tuple[str, int]]:
    """Every (case id, turn) a run asks, turns counted from 1."""
    return [(case.id, turn) for case in cases for turn in range(1, case.n_turns + 1)]


def ask_later_turns(cases: list[Case], first_calls: list[Call],
                    executor: Executor) -> dict[tuple[str, str], list[Call]]:
    """Ask turn 2, 3, ... of every multi-turn case, each after the model's own answer to the turn before.

    `first_calls`: the answer stage's turn-1 calls, answered (their `extra` holds the case id, and the sample
    index past sample 0: harness.sampling). Returns, per (case id, model id, sample) of a multi-turn case, the
    calls of the later turns that were asked, in turn order. A later turn's cache key's `extra` is its first
    turn's with the turn number added (so each sample's conversation is its own)."""
    by_id = {case.id: case for case in cases}
    chains = {(call.extra["case"], call.adapter.model_id, call.extra.get("sample", 0)): [call]
              for call in first_calls if by_id[call.extra["case"]].turns}
    turn = 2
    while True:
        batch = []
        for (case_id, _model, _sample), chain in chains.items():
            case, previous = by_id[case_id], chain[-1]
            if turn > case.n_turns or len(chain) != turn - 1 or not previous.result.ok:
                continue
            messages = [*previous.messages, {"role": "assistant", "content": previous.result.text},
                        {"role": "user", "content": case.turns[turn - 2]}]
            call = Call(previous.adapter, previous.stage, messages, previous.settings,
                        extra={**chain[0].extra, "turn": turn}, context={"case_id": case_id, "turn": turn})
            chain.append(call)
            batch.append(call)
        if not batch:
            break
        executor.run(batch, f"answers, turn {turn}")
        turn += 1
    return {key: chain[1:] for key, chain in chains.items()}


def conversation_answer(first: Call, later: list[Call], n_turns: int) -> tuple[Completion, list[Completion], str]:
    """(the answer's completion, each asked turn's completion, the cache key of the last call) of one multi-turn
    conversation. The answer is the last turn's; when a turn failed, that turn's failure, saying which turn."""
    calls = [first, *later]
    turns = [call.result for call in calls]
    last = turns[-1]
    if last.ok and len(turns) == n_turns:
        return last, turns, calls[-1].key
    failed = next(c for c in turns if not c.ok)
    number = turns.index(failed) + 1
    note = f"turn {number} of {n_turns} failed: {failed.error}"
    if number < n_turns:
        note += f" (turn {number + 1} was not asked)"
    return dataclasses.replace(failed, error=note), turns, calls[-1].key


# ---------------------------------------------------------------- what grading reads of one turn

def graded_turn(case: Case, turn: int | None) -> int:
    """The turn a criterion grades: the one it names, or the last."""
    return case.n_turns if turn is None else turn


def turn_text(case: Case, answer: Answer, turn: int | None) -> str:
    """The model's answer to one turn (the last when `turn` is None)."""
    number = graded_turn(case, turn)
    if not answer.turns:
        return answer.completion.text
    return answer.turns[number - 1].text


def turn_prompt(case: Case, turn: int | None) -> str:
    """The user message a turn answers (what a check that looks at the prompt compares with)."""
    number = graded_turn(case, turn)
    if number >= 2:
        return case.turns[number - 2]
    return next((m.content for m in reversed(case.messages) if m.role == "user"), "")


def turn_reference(case: Case, turn: int | None) -> str | None:
    """The reference answer of one turn: its own where the case gives one per turn, else the case's (turn 1)."""
    number = graded_turn(case, turn)
    if case.turn_references is not None:
        return case.turn_references[number - 1]
    return case.reference if number == 1 else None


def turn_conversation(case: Case, answer: Answer, turn: int | None) -> list[Message]:
    """The conversation up to the user message of one turn, with the model's own earlier answers in it."""
    number = graded_turn(case, turn)
    messages = case.chat()
    for earlier in range(1, number):
        messages += [{"role": "assistant", "content": answer.turns[earlier - 1].text},
                     {"role": "user", "content": case.turns[earlier - 1]}]
    return messages


# ---------------------------------------------------------------- answers files

def answers_file_fields(adapter: Adapter, suite_cases: list[Case]) -> dict:
    """For the run's spec: how a model that answers from a file covers the suite (nothing for other kinds)."""
    if not adapter.answers_by_case:
        return {}
    return {"answers_file": adapter.coverage(expected_turns(suite_cases))}


def answers_file_warnings(model_ids: list[str], adapters: dict[str, Adapter], suite_cases: list[Case]) -> list[str]:
    """One line per answers file that holds answers for cases or turns the suite does not have."""
    lines = []
    for model_id in model_ids:
        fields = answers_file_fields(adapters[model_id], suite_cases).get("answers_file")
        if fields and fields["unknown"]:
            lines.append(f"warning: {model_id}: {fields['unknown']} answer(s) in {fields['path']} for cases or turns "
                         f"this suite does not have (e.g. {', '.join(fields['unknown_examples'])})")
    return lines
