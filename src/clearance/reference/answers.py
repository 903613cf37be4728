"""What a simulated model answers to a request: tool calls, a final answer, or text.

- Tools are offered and the user's last message still asks for something:
  the calls :func:`~clearance.reference.planning.next_step` decides (a lookup
  first when an id or address is missing, the next action once results are
  in), finish reason ``tool_calls``.
- The last messages are tool results and nothing is left to call: a final
  text that says what was done, with the arguments of each action ("I
  cancelled the event (event_id: e_90 ("Pilot kickoff"), ...)") and what each
  tool returned (``key: value`` pairs of a JSON result), finish reason ``stop``.
- An action the request asks for needs an id or address that nothing names:
  a text that says which (a careful model asks rather than guesses).
- Otherwise: a short text derived from the last user message. A message
  asking to ``say "X"`` (or reply/respond/answer with, repeat) gets exactly
  ``X``. ``max_tokens`` cuts a text answer (finish reason ``length``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from clearance.reference.conversation import Done, Progress, read_progress
from clearance.reference.faults import inject_fault
from clearance.reference.planning import Step, next_step
from clearance.reference.request import ChatRequest
from clearance.reference.text import name_words, stem
from clearance.reference.tools import is_id_name
from clearance.reference.verbs import READ, VERB_STEMS, past_tense
from clearance.reference.wire import Answer, OutCall

__all__ = ["compose", "digest", "final_text", "text_reply", "thinking_text"]

_ECHO = re.compile(
    r"\b(?:say|reply with|respond with|answer with|repeat|output)\b\s*:?\s*[\"“]([^\"”]+)[\"”]",
    re.IGNORECASE,
)
_MAX_LEAVES = 12


def digest(seed: int, salt: str, key: str) -> str:
    """A hex digest of (seed, purpose, request): the simulator's only source of chance."""
    return hashlib.sha256(f"{seed}:{salt}:{key}".encode()).hexdigest()


def share(hex_digest: str) -> float:
    """A number in [0, 1) drawn from a digest."""
    return int(hex_digest[:13], 16) / 16**13


def text_reply(prompt: str) -> str:
    """A short deterministic answer derived from the prompt."""
    echo = _ECHO.search(prompt)
    if echo:
        return echo.group(1)
    words = prompt.split()
    if not words:
        return "Simulated answer (reference simulator, not a real model) to an empty prompt."
    excerpt = " ".join(words[:12]) + (" ..." if len(words) > 12 else "")
    return f'Simulated answer (reference simulator, not a real model) to: "{excerpt}"'


def thinking_text(answer: Answer) -> str:
    """What a simulated model "thought" before an answer (Anthropic's thinking blocks,
    Gemini's thought parts): a plan, plainly marked as simulated."""
    if answer.tool_calls:
        names = ", ".join(dict.fromkeys(call.name for call in answer.tool_calls))
        plan = f"the request calls for {names}, so I will call it now"
    else:
        plan = "I have what I need, so I will answer"
    return f"Simulated reasoning (reference simulator, not a real model): {plan}."


def _leaves(value: Any, path: str, out: list[str]) -> None:
    if len(out) >= _MAX_LEAVES:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _leaves(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _leaves(item, f"{path}[{index}]", out)
    else:
        shown = value if isinstance(value, str) else json.dumps(value)
        out.append(f"{path}: {str(shown)[:120]}" if path else str(shown)[:300])


def _summary(result: Any) -> str:
    if result is None:
        return "nothing"
    if isinstance(result, str):
        text = " ".join(result.split())
        return text[:300] if text else "(empty result)"
    leaves: list[str] = []
    _leaves(result, "", leaves)
    return ", ".join(leaves) or "(empty result)"


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:200] + "..."


def _sentence(done: Done, progress: Progress) -> str:
    """What one call did: a lookup's result, or an action with its arguments and result."""
    parts = name_words(done.name)
    verb = stem(parts[0]) if parts else ""
    returned = f"{done.name} returned {_summary(done.result)}"
    if verb in READ:
        return returned + "."
    shown = []
    for key, value in done.arguments.items():
        label = progress.label(key, value) if is_id_name(key) else None
        shown.append(f"{key}: {_shown(value)}" + (f' ("{label}")' if label else ""))
    if verb in VERB_STEMS:
        did = f"I {past_tense(parts[0])} the {' '.join(parts[1:]) or 'item'}"
    else:
        did = f"I called {done.name}"
    return f"{did} ({', '.join(shown)}): {returned}."


def final_text(
    messages: Sequence[Mapping[str, Any]],
    given_up: Sequence[str] = (),
    progress: Progress | None = None,
) -> str:
    """The answer after tool results: each action with its arguments (an id with the name
    its record gives), and what each tool returned (key values included).

    Args:
        messages: the conversation.
        given_up: why requested actions were not taken, if some were not.
        progress: the conversation already read (read from ``messages`` if None).
    """
    progress = progress if progress is not None else read_progress(messages)
    sentences = [_sentence(done, progress) for done in progress.calls]
    if not sentences:
        sentences = ["No tool returned anything."]
    text = "Here is what I did: " + " ".join(sentences)
    if given_up:
        text += " I stopped there: " + "; ".join(given_up) + "."
    return text


def compose(
    request: ChatRequest, seed: int, *, sloppy_rate: float = 0.0, attempt: int = 1
) -> Answer:
    """The answer to a request (with a fault in a ``sloppy_rate`` share of tool-call answers).

    Args:
        request: the checked request.
        seed: the server's seed.
        sloppy_rate: the share of tool-call answers that carry a fault.
        attempt: which time this server sees this request (1 for the first): the
            fault is drawn anew for each attempt, as a sampled model varies.
    """
    messages = request.messages
    progress = read_progress(messages)
    after_tools = messages[-1].get("role") in ("tool", "function")
    step = Step(())
    if request.tools:
        step = next_step(
            progress,
            request.tools,
            choice=request.choice,
            forced=request.forced,
            parallel=request.parallel,
        )
    calls = list(step.calls)
    if not calls:
        if after_tools:
            text = final_text(messages, step.given_up, progress)
        elif step.given_up:
            text = "I cannot do that yet: " + "; ".join(step.given_up) + "."
        else:
            text = text_reply(progress.prompt)
        if request.max_tokens is not None and len(text) // 4 > request.max_tokens:
            return Answer(text[: request.max_tokens * 4], (), "length")
        return Answer(text, (), "stop")
    sent = [(c.name, json.dumps(c.arguments, ensure_ascii=False)) for c in calls]
    fault = None
    chance = digest(seed, "sloppy" if attempt <= 1 else f"sloppy:{attempt}", request.key)
    if sloppy_rate > 0 and share(chance) < sloppy_rate:
        sent, fault = inject_fault(
            calls,
            request.tools,
            progress.prompt,
            int(chance[13:21], 16),
            malformed=request.arguments_as_text,
        )
    prefix = digest(seed, "call", request.key)[:12]
    out = tuple(
        OutCall(f"call_{prefix}_{index}", name, arguments)
        for index, (name, arguments) in enumerate(sent)
    )
    return Answer(None, out, "tool_calls", fault)
