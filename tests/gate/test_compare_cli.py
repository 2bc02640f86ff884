"""`sla compare` input handling (no processes)."""

import pytest

from sla.compare import judged_phase, parse_vary
from sla.errors import SlaError


def test_vary_values_are_typed_like_the_server_options():
    assert parse_vary(["threads=1,2", "onednn=on,off", "rec-batch=1,6"]) == {
        "threads": [1, 2], "onednn": [True, False], "rec_batch": [1, 6]}


@pytest.mark.parametrize(("item", "fragment"), [
    ("threads", "write OPTION=V1,V2"),
    ("gpus=1,2", "'gpus' is not a server option; accepted: preset"),
    ("threads=one", "value 'one'"),
])
def test_bad_vary_says_what_is_accepted(item, fragment):
    with pytest.raises(SlaError, match=fragment):
        parse_vary([item])


def test_the_table_reports_the_first_phase_the_sla_judges():
    assert judged_phase(["steady"], ["warmup", "steady"]) == "steady"
    assert judged_phase([], ["warmup", "burst"]) == "burst"
