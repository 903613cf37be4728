"""The judged turns of flows, by the tool each turn calls, for the report's tool rows.

A tool's reliability shows in every turn that calls it, not only in the single-turn
case written for it: a flow's turn that expects ``list_events`` tests ``list_events``
too. The results store one row per flow trial, with its verdict and how many turns
passed (``turns_passed`` of ``turns_total``), not which ones; the turns are known
from those counts, because a flow is played in order and stops at its first failing
turn (:func:`clearance.flows.scoring.play_flow`, as the eval engine plays it):

* a passing trial passed every turn;
* a failing trial passed its first ``turns_passed`` turns and failed the next; the
  turns after it were never played, so they are not judged (when every turn passed,
  the final answer is what failed, and every turn counts as passed).

Which tools a turn expects comes from the flow's definition (``contracts/flows``): a
turn expecting several calls counts once for each tool it names; a turn expecting no
call (an answer turn) counts for none. A flow whose definition is missing, or whose
number of turns no longer matches the run's (it was edited since), is left out and
named in the report's notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from clearance.config import ClearanceConfig
from clearance.errors import ClearanceError
from clearance.evaluation.metrics import mark_judged

__all__ = [
    "TURN_COLUMNS",
    "FlowScripts",
    "load_flow_scripts",
    "pooled_note",
    "script_of",
    "tool_turns",
]

TURN_COLUMNS = ("run_id", "model_id", "case_id", "trial", "tool", "criticality", "_pass", "_judged")
"""The columns of :func:`tool_turns`' frame: one row per judged turn and tool it calls
(``_judged`` false: a trial not judged, an infra error or a fallback, once per tool)."""


@dataclass(frozen=True, slots=True)
class FlowScripts:
    """What each flow's turns call, as the flow definitions say."""

    turns: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    """Flow id -> per turn, in order (the answer turn included), the tools it expects."""
    criticality: Mapping[str, str] = field(default_factory=dict)
    """Tool -> its contract's criticality (``critical`` wins over versions)."""
    problem: str | None = None
    """Why the definitions could not be read (then ``turns`` is empty)."""


def script_of(flow: Any) -> tuple[tuple[str, ...], ...]:
    """The tools each turn of ``flow`` (a :class:`clearance.flows.model.Flow`) expects,
    the answer turn included (it expects none)."""
    turns = [tuple(sorted({call.tool for call in step.calls})) for step in flow.steps]
    if flow.needs_answer_turn:
        turns.append(())
    return tuple(turns)


def load_flow_scripts(config: ClearanceConfig) -> FlowScripts:
    """The scripts of the flows under the project's contracts folder (through the suite
    cache the evals use), and the criticality of the tools they call."""
    from clearance.contracts.cache import load_suite

    root = config.contracts_root()
    if not root.is_dir():
        return FlowScripts(problem=f"no contracts folder at {root}")
    try:
        loaded = load_suite(root, config.root / ".clearance" / "cache")
    except (ClearanceError, OSError) as error:
        return FlowScripts(problem=f"the flows under {root} could not be read: {error}")
    turns: dict[str, tuple[tuple[str, ...], ...]] = {}
    criticality: dict[str, str] = {}
    for flow in loaded.flows:
        if flow.kind != "flow":
            continue
        turns[flow.id] = script_of(flow)
        for ref in flow.tools:
            try:
                contract = loaded.contracts[ref]
            except (KeyError, ClearanceError):
                continue
            if criticality.get(contract.name) != "critical":
                criticality[contract.name] = str(contract.criticality)
    return FlowScripts(turns, criticality)


def _played(verdict: str, passed: int, total: int) -> list[bool]:
    """Each judged turn's outcome, in order (see the module's docstring)."""
    if verdict == "pass" or passed >= total:
        return [True] * total
    return [True] * passed + [False]


def tool_turns(frame: pd.DataFrame, scripts: FlowScripts) -> tuple[pd.DataFrame, list[str]]:
    """The flow rows of ``frame`` as one row per judged turn and tool (:data:`TURN_COLUMNS`),
    and the flows left out (no definition, or a number of turns that does not match)."""
    flows = mark_judged(frame[frame["case_kind"] == "flow"])
    out: list[tuple[Any, ...]] = []
    skipped: set[str] = set()
    columns = ("run_id", "model_id", "case_id", "trial", "verdict", "_judged")
    counts = (flows["turns_passed"], flows["turns_total"])
    for (run_id, model_id, case, trial, verdict, judged), passed, total in zip(
        zip(*(flows[c] for c in columns), strict=True), *counts, strict=True
    ):
        case_id = str(case)
        script = scripts.turns.get(case_id)
        if script is None:
            skipped.add(case_id)
            continue
        tools = sorted({tool for turn in script for tool in turn})
        if not judged:
            out.extend(
                (
                    run_id,
                    model_id,
                    case_id,
                    trial,
                    tool,
                    scripts.criticality.get(tool),
                    False,
                    False,
                )
                for tool in tools
            )
            continue
        if pd.isna(total) or pd.isna(passed) or int(total) != len(script):
            skipped.add(case_id)
            continue
        played = _played(str(verdict), int(passed), int(total))
        for outcome, turn in zip(played, script, strict=False):  # the turns judged, in order
            out.extend(
                (
                    run_id,
                    model_id,
                    case_id,
                    trial,
                    tool,
                    scripts.criticality.get(tool),
                    outcome,
                    True,
                )
                for tool in turn
            )
    turns = pd.DataFrame.from_records(out, columns=list(TURN_COLUMNS))
    turns["_pass"] = turns["_pass"].astype(bool)
    turns["_judged"] = turns["_judged"].astype(bool)
    return turns, sorted(skipped)


def pooled_note(skipped: Iterable[str], scripts: FlowScripts, shown: int = 5) -> str | None:
    """The report's note on flows whose turns are not in the tool rows (``None``: none)."""
    names = sorted(set(skipped))
    if not names:
        return None
    listed = ", ".join(names[:shown]) + (
        f" and {len(names) - shown} more" if len(names) > shown else ""
    )
    why = scripts.problem or (
        "their definitions in contracts/flows are missing or have changed since the run"
    )
    return (
        f"{len(names)} flow(s) are counted in the flows row only, not in the tool rows "
        f"({why}): {listed}"
    )
