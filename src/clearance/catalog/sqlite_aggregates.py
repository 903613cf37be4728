"""The two aggregates SQLite lacks: an exact decimal sum and ``percentile_cont``.

PostgreSQL sums ``NUMERIC`` exactly and has ``percentile_cont``; SQLite stores
money as decimal strings (:class:`~clearance.catalog.types.ExactDecimal`) and
would sum them as binary floats, and has no percentile at all. :func:`register`
adds both to a ``sqlite3`` connection as aggregate functions (the stores that sum
money or take percentiles, :mod:`clearance.catalog.callstats`, register them before
their first query):

* ``clearance_decimal_sum(text)``: the exact sum as a decimal string (NULLs skipped;
  NULL when there is nothing to sum), with unbounded precision, like ``NUMERIC``;
* ``clearance_percentile_NNNN(real)``: ``percentile_cont(NNNN / 1000)`` with
  PostgreSQL's arithmetic, so the two back ends agree to the last bit;
* ``clearance_percentiles_NNNN_MMMM(real)``: those percentiles from one collection of the
  values (each percentile on its own collects every value again: a million rows cost
  SQLite a tenth of a second or more per aggregate), as their ``repr`` joined by spaces
  (a ``repr`` reads back as the same float: :func:`read_percentiles`).

Each aggregate collects its inputs with ``list.append`` itself as the step (a C
call: no Python frame per row) and does the work once per group; a million rows
take a few tenths of a second.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

__all__ = [
    "decimal_sum",
    "percentile_cont",
    "percentile_function",
    "percentiles_function",
    "read_percentiles",
    "register",
]

_EXACT = decimal.Context(
    prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[]
)


def decimal_sum(values: Iterable[str | Decimal | None]) -> Decimal | None:
    """The exact sum of decimal strings (or Decimals); None when every value is None."""
    present = [value for value in values if value is not None]
    if not present:
        return None
    with decimal.localcontext(_EXACT):
        return sum(map(Decimal, map(str, present)), Decimal(0))


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont``: linear interpolation between the closest ranks.

    The arithmetic is PostgreSQL's: with ``p = fraction·(n-1)``, ``lo + (p - floor(p))
    · (hi - lo)``, where ``lo`` and ``hi`` are the values at ranks ``floor(p)`` and
    ``ceil(p)``. pandas' default ``quantile`` interpolates the same way but can differ
    in the last bit past the midpoint. ``values`` need not be sorted; None when empty.
    """
    import numpy as np

    data = np.asarray(values, dtype=np.float64)
    n = len(data)
    if n == 0:
        return None
    position = fraction * (n - 1)
    low, high = math.floor(position), math.ceil(position)
    data = np.partition(data, [low, high])
    lo, hi = float(data[low]), float(data[high])
    if low == high:
        return lo
    return lo + (position - low) * (hi - lo)


def percentile_function(fraction: float) -> str:
    """The SQL name :func:`register` gives ``percentile_cont(fraction)``."""
    return f"clearance_percentile_{round(fraction * 1000):04d}"


def percentiles_function(fractions: Sequence[float]) -> str:
    """The SQL name :func:`register` gives the percentiles of ``fractions``, read at once."""
    return "clearance_percentiles_" + "_".join(f"{round(f * 1000):04d}" for f in fractions)


def read_percentiles(text: str | None, count: int) -> tuple[float | None, ...]:
    """The floats of a ``clearance_percentiles_*`` result (``None`` each when it is NULL)."""
    if text is None:
        return (None,) * count
    return tuple(float(value) for value in text.split(" "))


class _DecimalSum(list[Any]):
    step = list.append

    def finalize(self) -> str | None:
        total = decimal_sum(self)
        return None if total is None else str(total)


def _percentile(fraction: float) -> type[list[Any]]:
    class _Percentile(list[Any]):
        step = list.append

        def finalize(self) -> float | None:
            return percentile_cont([value for value in self if value is not None], fraction)

    return _Percentile


def _percentiles(fractions: tuple[float, ...]) -> type[list[Any]]:
    class _Percentiles(list[Any]):
        step = list.append

        def finalize(self) -> str | None:
            import numpy as np

            data = np.asarray([value for value in self if value is not None], dtype=np.float64)
            values = cast("Sequence[float]", data)  # an array is read as one
            found = [percentile_cont(values, fraction) for fraction in fractions]
            return None if not len(data) else " ".join(repr(value) for value in found)

    return _Percentiles


def register(dbapi_connection: Any, fractions: Iterable[float]) -> None:
    """Add ``clearance_decimal_sum``, one percentile per fraction and those percentiles
    at once (:func:`percentiles_function`) to a sqlite3 connection."""
    fractions = tuple(fractions)
    dbapi_connection.create_aggregate("clearance_decimal_sum", 1, _DecimalSum)
    for fraction in fractions:
        dbapi_connection.create_aggregate(percentile_function(fraction), 1, _percentile(fraction))
    if fractions:
        dbapi_connection.create_aggregate(
            percentiles_function(fractions), 1, _percentiles(fractions)
        )
