"""Flows: multi-turn tool-use scripts, their argument matchers, scoring and controls.

- :mod:`~clearance.flows.model` loads and checks ``contracts/flows/*.yaml``;
- :mod:`~clearance.flows.matchers` compiles argument matchers (``$regex``, ``$range``...);
- :mod:`~clearance.flows.matching` pairs a turn's calls with its expectations optimally;
- :mod:`~clearance.flows.scoring` judges turns and drives a flow against a model callable;
- :mod:`~clearance.flows.dropped` tells a violation of a constraint the model was not shown;
- :mod:`~clearance.flows.controls` holds the negative controls that find broken flows;
- :mod:`~clearance.flows.scoring_profile` names the rules a suite is judged by
  (``clearance`` or ``bfcl``), and :mod:`~clearance.flows.bfcl` holds BFCL's.
"""

from clearance.flows.bfcl.key import BfclFunction, BfclKey, BfclParameter
from clearance.flows.controls import (
    ControlReport,
    calls_every_tool,
    check_controls,
    generate_arguments,
    never_calls_tools,
)
from clearance.flows.jsonpath import JsonPath, JsonPathError, parse_json_path
from clearance.flows.matchers import (
    Matcher,
    Mismatch,
    compile_arguments,
    compile_matcher,
    match_arguments,
)
from clearance.flows.matching import Assignment, Pair, assign
from clearance.flows.model import (
    ExpectedCall,
    FinalAssertion,
    Flow,
    Step,
    ToolResult,
    load_flow,
    load_flows,
    parse_tool_ref,
)
from clearance.flows.scoring import (
    FAILURE_CODES,
    FAILURE_MEANINGS,
    Failure,
    FailureCode,
    FlowVerdict,
    Model,
    TurnVerdict,
    run_flow,
    score_final,
    score_turn,
)
from clearance.flows.scoring_profile import (
    SCORING_PROFILES,
    ScoringProfile,
    read_scoring_profile,
)

__all__ = [
    "FAILURE_CODES",
    "FAILURE_MEANINGS",
    "SCORING_PROFILES",
    "Assignment",
    "BfclFunction",
    "BfclKey",
    "BfclParameter",
    "ControlReport",
    "ExpectedCall",
    "Failure",
    "FailureCode",
    "FinalAssertion",
    "Flow",
    "FlowVerdict",
    "JsonPath",
    "JsonPathError",
    "Matcher",
    "Mismatch",
    "Model",
    "Pair",
    "ScoringProfile",
    "Step",
    "ToolResult",
    "TurnVerdict",
    "assign",
    "calls_every_tool",
    "check_controls",
    "compile_arguments",
    "compile_matcher",
    "generate_arguments",
    "load_flow",
    "load_flows",
    "match_arguments",
    "never_calls_tools",
    "parse_json_path",
    "parse_tool_ref",
    "read_scoring_profile",
    "run_flow",
    "score_final",
    "score_turn",
]
