"""Reading the Berkeley Function Calling Leaderboard's files (BFCL v4): categories and cases.

BFCL ships each category as JSON Lines files named ``.json``: the questions
(``BFCL_v4_<category>.json``: ``id``, ``question``, ``function``) and, under
``possible_answer/``, the ground truth (``id``, ``ground_truth``). The relevance
categories (``irrelevance``, ``live_irrelevance``, ``live_relevance``) have no possible
answers by design: their answer is "no call" or "any call".

The multi-turn categories (``multi_turn_*``) are not read. BFCL judges them by state: it
runs the ground-truth calls and the model's calls against its own Python backends (the
file system, trading, travel and other classes of ``bfcl_eval``'s
``multi_turn_eval/func_source_code``) and compares the instances' state and the calls'
results after every turn. Those backends ship only inside the ``bfcl-eval`` package,
whose pinned dependencies (``numpy==1.26.4`` among them, and sentence-transformers for
the memory backends) cannot be installed next to clearance's; a state-based checker
without them would be a second implementation of BFCL's backends, not BFCL's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearance.errors import SourceFormatError
from clearance.flows.bfcl.key import SINGLE_TURN_CATEGORIES, category_kind

__all__ = [
    "DEFAULT_CATEGORIES",
    "MULTI_TURN_MISSING",
    "BfclCase",
    "categories_in",
    "read_bfcl",
]

DEFAULT_CATEGORIES = SINGLE_TURN_CATEGORIES
"""BFCL v4's single-turn categories, in its order: every one converts."""

MULTI_TURN_MISSING = (
    "multi-turn categories are judged by BFCL's state-based checker, which runs every call "
    "against the Python backends that ship only inside the bfcl-eval package (its pinned "
    "dependencies cannot be installed next to clearance's), so clearance does not import them"
)
"""Why ``multi_turn_*`` categories are skipped (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class BfclCase:
    """One BFCL question with its ground truth, as read from the files."""

    id: str
    category: str
    question: list[list[dict[str, Any]]] = field(hash=False)
    """Turns, each a list of chat messages (``role``, ``content``)."""
    functions: list[dict[str, Any]] = field(hash=False)
    """The functions offered (``name``, ``description``, ``parameters``)."""
    ground_truth: list[dict[str, dict[str, list[Any]]]] = field(hash=False)
    """The expected calls: ``{function name: {parameter: [acceptable values]}}``; empty
    for the relevance categories."""
    source: str = ""
    """``file:line`` of the question."""


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceFormatError(
            f"cannot read BFCL file: {exc.strerror or exc}",
            source=str(path),
            fix="point at the folder that holds BFCL_v4_<category>.json and possible_answer/",
        ) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceFormatError(
                f"line is not JSON: {exc.msg} (column {exc.colno})",
                source=f"{path}:{number}",
                fix="BFCL files are JSON Lines: one JSON object per line",
            ) from None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise SourceFormatError(
                "a BFCL record must be a JSON object with a string 'id'",
                source=f"{path}:{number}",
            )
        yield number, record


def _category_file(directory: Path, category: str) -> Path:
    exact = directory / f"BFCL_v4_{category}.json"
    if exact.is_file():
        return exact
    others = sorted(directory.glob(f"BFCL_v*_{category}.json"))
    if others:
        return others[-1]
    answers = (
        ""
        if category_kind(category) in ("irrelevance", "relevance")
        else (f" (and possible_answer/{exact.name})")
    )
    raise SourceFormatError(
        f"no question file for BFCL category {category!r}",
        source=str(directory),
        fix=f"expected {exact.name} in that folder{answers}",
    )


def categories_in(directory: Path) -> tuple[list[str], dict[str, str]]:
    """The categories in a BFCL folder that convert, in BFCL's order, and those skipped.

    Returns:
        (categories, skipped): ``skipped`` maps each other question file's category to
        why it is not read (multi-turn; or a category this importer does not know).
    """
    found: dict[str, None] = {}
    for path in sorted(Path(directory).glob("BFCL_v*_*.json")):
        stem = path.stem
        category = stem.split("_", 2)[2] if stem.count("_") >= 2 else stem
        found[category] = None
    categories = [c for c in DEFAULT_CATEGORIES if c in found]
    skipped: dict[str, str] = {}
    for category in found:
        if category in categories:
            continue
        skipped[category] = (
            MULTI_TURN_MISSING
            if category.startswith("multi_turn")
            else "not a BFCL v4 single-turn category this importer knows"
        )
    return categories, skipped


def read_bfcl(directory: Path, categories: Sequence[str] | None = None) -> list[BfclCase]:
    """The cases of the given single-turn categories, each with its ground truth.

    Args:
        directory: the BFCL folder.
        categories: which to read, in this order (``None``: every one
            :func:`categories_in` finds).

    Raises:
        SourceFormatError: a missing or unreadable file, a line that is not a BFCL
            record, a question without an answer, or a multi-turn category.
    """
    directory = Path(directory)
    if categories is None:
        categories, _ = categories_in(directory)
    cases: list[BfclCase] = []
    for category in categories:
        if category.startswith("multi_turn"):
            raise SourceFormatError(
                f"BFCL category {category!r} is multi-turn; only single-turn ones convert: "
                f"{MULTI_TURN_MISSING}",
                source=str(directory),
                fix=f"use categories among {', '.join(DEFAULT_CATEGORIES)}",
            )
        questions = _category_file(directory, category)
        answers = _answers(directory / "possible_answer" / questions.name, category)
        for number, record in _read_jsonl(questions):
            where = f"{questions}:{number}"
            if answers is not None and record["id"] not in answers:
                raise SourceFormatError(
                    f"question {record['id']!r} has no possible answer",
                    source=where,
                    fix=f"check {questions.parent / 'possible_answer' / questions.name}",
                )
            question, functions = record.get("question"), record.get("function")
            if not isinstance(question, list) or not isinstance(functions, list):
                raise SourceFormatError(
                    "a BFCL question needs 'question' (turns) and 'function' (a list)",
                    source=where,
                )
            cases.append(
                BfclCase(
                    id=record["id"],
                    category=category,
                    question=question,
                    functions=functions,
                    ground_truth=[] if answers is None else answers[record["id"]],
                    source=where,
                )
            )
    return cases


def _answers(path: Path, category: str) -> dict[str, Any] | None:
    """Question id → ground truth; ``None`` for a category without possible answers."""
    if category_kind(category) in ("irrelevance", "relevance"):
        return None
    answers: dict[str, Any] = {}
    for number, record in _read_jsonl(path):
        truth = record.get("ground_truth")
        if not isinstance(truth, list) or not all(
            isinstance(call, dict) and len(call) == 1 for call in truth
        ):
            raise SourceFormatError(
                "ground_truth must be a list of {function: {parameter: [values]}}",
                source=f"{path}:{number}",
                pointer="/ground_truth",
            )
        answers[record["id"]] = truth
    return answers
