"""The ``bfcl`` scoring profile: imported BFCL cases judged as BFCL's AST checker judges them.

- :mod:`~clearance.flows.bfcl.key`: a case's answer key (its ``bfcl:`` value), and how a
  category name says what is checked and in which language;
- :mod:`~clearance.flows.bfcl.values`: Java and JavaScript argument text read as BFCL
  reads it;
- :mod:`~clearance.flows.bfcl.checker`: BFCL's rules for one call and for a turn's calls;
- :mod:`~clearance.flows.bfcl.judge`: a model's turn judged by those rules, as a
  :class:`~clearance.flows.scoring.TurnVerdict`.

``contracts/FORMAT.md`` and the README (BFCL) say what the profile does and where it
knowingly differs from the official checker.

The judge is not imported here: it needs :mod:`clearance.flows.scoring`, which the flow
model, and so this package, comes before.
"""

from clearance.flows.bfcl.checker import BfclError, BfclOutcome, check_call, check_calls
from clearance.flows.bfcl.key import (
    BfclFunction,
    BfclKey,
    BfclParameter,
    CategoryKind,
    Language,
    category_kind,
    category_language,
    parse_bfcl_key,
)

__all__ = [
    "BfclError",
    "BfclFunction",
    "BfclKey",
    "BfclOutcome",
    "BfclParameter",
    "CategoryKind",
    "Language",
    "category_kind",
    "category_language",
    "check_call",
    "check_calls",
    "parse_bfcl_key",
]
