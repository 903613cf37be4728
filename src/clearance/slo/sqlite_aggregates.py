"""The two aggregates SQLite lacks; they moved to :mod:`clearance.catalog.sqlite_aggregates`.

The stores register them on a connection, and a store imports nothing of the SLOs above
it, so they live in ``catalog/``. This name keeps the old import path working.
"""

from __future__ import annotations

from clearance.catalog.sqlite_aggregates import (
    decimal_sum,
    percentile_cont,
    percentile_function,
    register,
)

__all__ = ["decimal_sum", "percentile_cont", "percentile_function", "register"]
