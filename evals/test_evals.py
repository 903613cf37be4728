"""The eval suite: every contract case and flow against every candidate model.

Run it with ``pytest evals`` (options: ``pytest evals --help``, group "clearance") or
``clearance eval``. Each parameter is one (model, case, trial); the plugin registered
by the ``clearance`` package runs them all at once, through the router, replaying or
recording ``evals/cassettes/``, and stores the run in the catalog.
"""


def test_eval(clearance_item):
    """Pass when the model passed the case; see ``ItemCheck.check`` for the other outcomes."""
    clearance_item.check()
