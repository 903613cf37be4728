"""The reference provider: a SIMULATOR of model behaviour, on three wire protocols.

Nothing here is a language model. Each ``ref/*`` model is a small
deterministic program that reads the request's ``messages`` and ``tools`` and
answers the way a model of that behaviour would: like a careful tool-using
model that looks up what it was not given and chains calls (``ref/steady``),
with faulty tool calls (``ref/sloppy``), with failures on a schedule
(``ref/flaky``), or with one scripted failure (``ref/status-429``,
``ref/context-small``, ``ref/stream-error``, ...). It exists for demos, tests
and load tests of clearance's router and eval suite, and says so in its
``/v1/models`` answer (``"simulator": true``).

One port serves every model on OpenAI chat completions (``ref/steady``), Anthropic
Messages (``ref-steady``) and Gemini (``ref-2.5-steady``, ``ref-3-steady``), each in
its own shapes, streams and errors (see :mod:`clearance.reference.app` and
:mod:`clearance.reference.names`): a behaviour answers the same on every protocol.

Every answer is a function of (seed, request), and for ``ref/flaky`` and
``ref/sloppy`` of how often this server saw the request before (a sampled
model varies from trial to trial): a fresh server with the same seed, sent the
same requests in the same order, gives byte-identical bodies, so recordings
replay.
"""

from clearance.reference.behaviours import FlakySchedule
from clearance.reference.catalog import REFERENCE_MODELS, ReferenceModel, models_document
from clearance.reference.faults import FAULT_KINDS
from clearance.reference.server import ReferenceServer

__all__ = [
    "FAULT_KINDS",
    "REFERENCE_MODELS",
    "FlakySchedule",
    "ReferenceModel",
    "ReferenceServer",
    "models_document",
]
