"""The plan of a run: its items, one per (model, case, trial), and the part each shard runs.

:func:`plan_items` deals (model, case) pairs to shards in a fixed order, so every runner
given the same models and cases computes the same split, and the trials of one pair (one
cassette) stay on one shard. :func:`parse_shard` reads the ``I/N`` a shard is named by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clearance.errors import InputError
from clearance.evaluation.cases import EvalCase

__all__ = ["EvalItem", "parse_shard", "plan_items"]


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One (model, case, trial): one pytest item, one stored result."""

    model_id: str
    case: EvalCase
    trial: int

    @property
    def key(self) -> tuple[str, str, int]:
        """(model, case id, trial)."""
        return self.model_id, self.case.id, self.trial

    @property
    def label(self) -> str:
        """A readable id: ``ref:ref/steady-cancel_meeting-t1``."""
        return f"{self.model_id}-{self.case.id}-t{self.trial}"


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/8"`` → (2, 8); ``None`` → ``None``.

    Raises:
        InputError: not ``I/N`` with 1 ≤ I ≤ N.
    """
    if text is None or text == "":
        return None
    index, _, total = text.partition("/")
    try:
        i, n = int(index), int(total)
    except ValueError:
        i, n = 0, 0
    if not 1 <= i <= n:
        raise InputError(
            f"--shard {text!r} is not I/N with 1 <= I <= N",
            fix="write the shard as I/N, e.g. --shard 2/8 for the second of eight",
        )
    return i, n


def plan_items(
    models: Sequence[str],
    cases: Sequence[EvalCase],
    trials: int,
    shard: tuple[int, int] | None = None,
) -> list[EvalItem]:
    """Every (model, case, trial) of this shard.

    (model, case) pairs are dealt to shards in turn, in (model, case id) order, so every
    runner with the same models and cases computes the same split, shards differ by at
    most one pair, and the trials of one pair (one cassette) stay together.
    """
    pairs = sorted(((m, c) for m in models for c in cases), key=lambda p: (p[0], p[1].id))
    if shard is not None:
        index, total = shard
        pairs = pairs[index - 1 :: total]
    return [EvalItem(m, c, k) for m, c in pairs for k in range(1, trials + 1)]
