"""What a simulated model answers to a request: tool calls, a final answer, or text.

- The last message is a user message and tools are offered: the calls that
  :func:`~clearance.reference.picking.plan_calls` decides, or text when no
  tool is relevant (finish reason ``tool_calls`` or ``stop``).
- The last messages are tool results: a final text that repeats what they
  returned (``key: value`` pairs of a JSON result), finish reason ``stop``.
  With ``tool_choice`` ``required`` or a named function, a call is made
  anyway, from the last user message.
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

from clearance.reference.faults import inject_fault
from clearance.reference.picking import plan_calls
from clearance.reference.request import ChatRequest
from clearance.reference.text import message_text
from clearance.reference.wire import Answer, OutCall

__all__ = ["compose", "digest", "final_text", "text_reply"]

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


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


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


def _summary(content: str) -> str:
    try:
        data = json.loads(content)
    except ValueError:
        text = " ".join(content.split())
        return text[:300] if text else "(empty result)"
    leaves: list[str] = []
    _leaves(data, "", leaves)
    return ", ".join(leaves) or "(empty result)"


def final_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The answer after tool results: what each tool returned, key values included."""
    results: list[Mapping[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") not in ("tool", "function"):
            break
        results.insert(0, message)
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping):
                names[str(call.get("id"))] = str(call["function"].get("name"))
    parts = []
    for result in results:
        name = names.get(str(result.get("tool_call_id")), str(result.get("name") or "the tool"))
        parts.append(f"{name} returned {_summary(message_text(result))}")
    return "Here is what the tools returned: " + "; ".join(parts) + "."


def compose(request: ChatRequest, seed: int, *, sloppy_rate: float = 0.0) -> Answer:
    """The answer to a request (with a fault in a ``sloppy_rate`` share of tool-call answers)."""
    messages = request.messages
    last_role = messages[-1].get("role")
    prompt = _last_user_text(messages)
    after_tools = last_role in ("tool", "function")
    calls = []
    if request.tools and (not after_tools or request.choice in ("required", "function")):
        calls = plan_calls(
            prompt,
            request.tools,
            choice=request.choice,
            forced=request.forced,
            parallel=request.parallel,
        )
    if not calls:
        text = final_text(messages) if after_tools else text_reply(prompt)
        if request.max_tokens is not None and len(text) // 4 > request.max_tokens:
            return Answer(text[: request.max_tokens * 4], (), "length")
        return Answer(text, (), "stop")
    sent = [(c.name, json.dumps(c.arguments, ensure_ascii=False)) for c in calls]
    fault = None
    chance = digest(seed, "sloppy", request.key)
    if sloppy_rate > 0 and share(chance) < sloppy_rate:
        sent, fault = inject_fault(calls, request.tools, prompt, int(chance[13:21], 16))
    prefix = digest(seed, "call", request.key)[:12]
    out = tuple(
        OutCall(f"call_{prefix}_{index}", name, arguments)
        for index, (name, arguments) in enumerate(sent)
    )
    return Answer(None, out, "tool_calls", fault)
