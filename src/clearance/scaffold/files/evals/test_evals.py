"""The eval suite: every contract case and flow against every candidate model.

Written by `clearance init`; keep it as it is. The clearance pytest plugin (installed
with clearance) turns this one test into one item per (model, case, trial) of the
suites and models named in clearance.toml's [evals] section, runs them through the
router, replaying or recording evals/cassettes/, and stores the run in the catalog.
Options: `pytest evals --help`, group "clearance".
"""


def test_eval(clearance_item):
    """Pass when the model passed the case; see clearance's README, "The eval suite"."""
    clearance_item.check()
