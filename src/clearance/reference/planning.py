"""The next step of a task: which calls to make now, or none (then the answer is text).

``ref/steady`` acts like a careful tool-using model, one turn at a time:

1. The user's last message is read into intents (:mod:`~clearance.reference.picking`).
2. An intent is *served* once a call to its tool was made since that message
   (n intents of one tool need n calls).
3. The pending intents are called together, up to the first one that *waits*
   for the results of an earlier clause ("..., then book the earliest one").
4. A call's arguments come from its clause, then from what earlier calls
   passed and returned (:mod:`~clearance.reference.conversation`), then from
   the whole message. A required id or email address that none of these gives
   is looked up first, with a provider tool (:mod:`~clearance.reference.entities`)
   given the name the message uses for it; so is an id the text gives as a
   name of several words (``event_id: "Pilot kickoff"``), and an optional id
   when the clause names someone no other argument took ("with "Ada
   Lovelace" ... link it to her CRM record"). A provider that needs an id of
   its own is planned the same way, a few levels deep.
5. A call that was already made for this message (same tool, same
   arguments) is never made again; an intent whose lookup was made and gave
   nothing is given up (the answer says so). With no provider at all, the
   call is made with what there is.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Sequence
from dataclasses import dataclass

from clearance.reference.arguments import fill, fill_arguments
from clearance.reference.conversation import Progress
from clearance.reference.entities import choose_reference, providers
from clearance.reference.picking import Intent, best_tool, intents
from clearance.reference.text import name_words
from clearance.reference.tools import PlannedCall, ToolSpec, id_entity, is_id_name

__all__ = ["Step", "next_step"]

_DEPTH = 3
"""How many lookups may stand before a call (a contact, then their deals, then ...)."""
_QUERY_WORDS = frozenset(["query", "q", "search", "term", "keyword", "keywords", "name", "text"])


@dataclass(frozen=True, slots=True)
class Step:
    """The calls to make now; none means the answer is text."""

    calls: tuple[PlannedCall, ...]
    given_up: tuple[str, ...] = ()
    """Why an intent was not called ("create_deal needs contact_id, which the lookup
    did not return"), for the final answer."""


def _key(call: PlannedCall) -> str:
    return call.name + json.dumps(call.arguments, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _Planned:
    call: PlannedCall | None
    lookup: bool = False
    reason: str | None = None
    unresolved: tuple[str, ...] = ()


class _Planner:
    def __init__(self, progress: Progress, tools: Sequence[ToolSpec]) -> None:
        self.progress = progress
        self.tools = tools
        self.made = {_key(PlannedCall(d.name, dict(d.arguments))) for d in progress.calls}
        self._nouns: frozenset[str] | None = None

    @property
    def nouns(self) -> frozenset[str]:
        """The entity nouns of the offered tools (stems)."""
        if self._nouns is None:
            self._nouns = frozenset().union(*(t.entities for t in self.tools))
        return self._nouns

    def plan(self, tool: ToolSpec, clause: str, fallback: str | None, depth: int = 0) -> _Planned:
        """The call for a tool, or the lookup to make before it."""
        filled = fill(tool.parameters, clause, fallback, self.progress.known)
        arguments = filled.arguments
        texts = [clause] if fallback is None else [clause, fallback]
        needs: list[tuple[str, bool, str | None]] = [
            (name, True, None) for name in filled.unresolved if name in tool.required
        ]
        for name in tool.property_names():
            value = arguments.get(name)
            if not is_id_name(name):
                continue
            if isinstance(value, str) and len(value.split()) > 1:  # a name, not an id
                needs.append((name, name in tool.required, value))
            elif name not in arguments and name not in tool.required:
                needs.append((name, False, None))
        for name, required, named in needs:
            found = providers(name, tool.property_schema(name), self.tools, tool)
            if not found:
                continue
            entity = id_entity(name) if is_id_name(name) else None
            held = {k: v for k, v in arguments.items() if k != name}
            reference = named or choose_reference(
                texts, held, entity, self.nouns, strict=not required
            )
            if not required and reference is None:
                continue
            looked = False
            if depth < _DEPTH:
                for provider in found:
                    lookup = self.lookup(provider, clause, fallback, reference, depth + 1)
                    if lookup.call is None:
                        continue
                    if _key(lookup.call) not in self.made:
                        return _Planned(lookup.call, lookup=True)
                    looked = True
            if required:
                why = (
                    "the lookups did not return it" if looked else "the request does not say which"
                )
                return _Planned(None, reason=f"{tool.name} needs {name}, and {why}")
        return _Planned(PlannedCall(tool.name, arguments), unresolved=filled.unresolved)

    def lookup(
        self,
        provider: ToolSpec,
        clause: str,
        fallback: str | None,
        reference: str | None,
        depth: int,
    ) -> _Planned:
        """The call to a provider, searching for ``reference`` when it takes a query."""
        planned = self.plan(provider, clause, fallback, depth)
        if planned.call is None or planned.lookup:
            return planned
        names = provider.property_names()
        ordered = [n for n in names if n in provider.required] + [
            n for n in names if n not in provider.required
        ]
        query = next((n for n in ordered if _QUERY_WORDS & set(name_words(n))), None)
        if query is not None and reference is None and query in planned.unresolved:
            return _Planned(None)  # nothing names what to search for
        if (
            reference is None
            or query is None
            or provider.property_schema(query).get("type", "string") != "string"
        ):
            return planned
        arguments = {**planned.call.arguments, query: reference}
        return _Planned(PlannedCall(provider.name, arguments), lookup=True)


def next_step(
    progress: Progress,
    tools: Sequence[ToolSpec],
    *,
    choice: str = "auto",
    forced: str | None = None,
    parallel: bool = True,
) -> Step:
    """The calls to make now for the user's last message (see the module docstring).

    Args:
        progress: the request and the calls made for it so far.
        tools: the offered tools.
        choice: ``auto``, ``none``, ``required`` or ``function``.
        forced: the function's name when ``choice`` is ``function``.
        parallel: whether several calls may be made (``parallel_tool_calls``).
    """
    if choice == "none" or not tools:
        return Step(())
    prompt = progress.prompt
    if choice == "function":
        tool = next(t for t in tools if t.name == forced)
        arguments = fill_arguments(tool.parameters, prompt, known=progress.known)
        return Step((PlannedCall(tool.name, arguments),))
    planner = _Planner(progress, tools)
    remaining = collections.Counter(d.name for d in progress.calls)
    pending: list[Intent] = []
    for intent in intents(prompt, tools):
        if remaining[intent.tool.name] > 0:
            remaining[intent.tool.name] -= 1
        else:
            pending.append(intent)
    calls: list[PlannedCall] = []
    given_up: list[str] = []
    for intent in pending:
        if calls and intent.waits:
            break
        planned = planner.plan(intent.tool, intent.clause, intent.fallback)
        if planned.call is None:
            given_up.append(planned.reason or f"{intent.tool.name} was not called")
            continue
        if planner.made or calls:
            key = _key(planned.call)
            if key in planner.made or key in {_key(c) for c in calls}:
                continue
        calls.append(planned.call)
    if not calls and choice == "required":
        fallback = best_tool(tools, prompt, minimum=0)
        if fallback is not None:
            calls.append(PlannedCall(fallback.name, fill_arguments(fallback.parameters, prompt)))
    return Step(tuple(calls if parallel else calls[:1]), tuple(given_up))
