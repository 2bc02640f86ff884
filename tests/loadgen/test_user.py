import json
import subprocess
import sys
from pathlib import Path

import pytest

from sla.loadgen.checks import response_problem
from sla.targets.reference import ReferenceApi

ROOT = Path(__file__).resolve().parents[2]
GOOD = json.dumps({"lines": [], "timing_ms": {"total": 1.0}}).encode()


@pytest.mark.parametrize(
    ("status", "body", "elapsed", "error", "fragment"),
    [
        (503, b'{"error": "overloaded"}', 0.1, None, "HTTP 503: {\"error\": \"overloaded\"}"),
        (413, b'{"error": "too large"}', 0.1, RuntimeError("code=413"), "HTTP 413: {\"error\": \"too large\"}"),
        (0, None, 0.1, ConnectionRefusedError("refused"), "no response: refused"),
        (200, b"<html>", 0.1, None, "body is not JSON"),
        (200, b'{"text": "x"}', 0.1, None, "not the documented OCR answer"),
        (200, GOOD, 12.0, None, "over the 10 s timeout"),
    ],
)
def test_failures_say_why(status, body, elapsed, error, fragment):
    assert fragment in response_problem(ReferenceApi(), status, body, elapsed, 10.0, error)


def test_a_documented_answer_in_time_is_a_success():
    assert response_problem(ReferenceApi(), 200, GOOD, 0.2, 10.0) is None


# Run in a child: importing Locust monkey-patches the interpreter (gevent), which the suite's process must not be.
CLOSED_USER_IN_EACH_PHASE = """
import json, sys
from itertools import count
from pathlib import Path
from types import SimpleNamespace

from locust.env import Environment

from sla.buckets import latency_buckets
from sla.loadgen.histograms import HistogramSet
from sla.loadgen.state import LoadgenState
from sla.loadgen.user import SlaUser
from sla.scenario import load_scenario

sent = []


class Recorder(SlaUser):
    host = "http://127.0.0.1:9"

    def send(self, client, payload):
        sent.append(self.sla.phase)


state = LoadgenState(load_scenario("scenarios/smoke.yaml"), "r", Path(sys.argv[1]), HistogramSet(latency_buckets([])),
                     HistogramSet(latency_buckets([])))
state.load_corpus()
environment = Environment(user_classes=[Recorder])
environment.sla_plugin = SimpleNamespace(state=state, user_seq=count(1))
user = Recorder(environment)
for phase in sys.argv[2:]:
    state.phase = phase
    user.request_payload()
print(json.dumps(sent))
"""


def test_a_users_phase_user_sends_nothing_once_an_arrival_rate_phase_began(tmp_path):
    """Locust stops a users phase's users only after the shape moved on (smoke.yaml: `warmup` is a
    users phase, `steady` an arrival-rate one; "" is after the last phase). A request sent in
    between would be load the arrival schedule did not plan, counted in its phase."""
    done = subprocess.run([sys.executable, "-c", CLOSED_USER_IN_EACH_PHASE, str(tmp_path), "warmup", "steady", "", "warmup"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == ["warmup", "warmup"]
