"""The harness never imports the reference server: what it knows of it (its metric names, stages and
options, in sla/targets/reference.py) is a contract, checked here against the server's own code.
And the judging path loads neither Paddle nor OpenCV."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sla.targets.reference import REFERENCE, SERVER_OPTIONS

ROOT = Path(__file__).resolve().parents[2]


def test_the_harness_names_the_options_the_server_has_with_their_types():
    from reference_server.config import ServerConfig

    defaults = ServerConfig()
    # fault: a test-only planted bug (OCR_FAULT), never a scenario option
    server = {f.name: type(getattr(defaults, f.name)) for f in fields(ServerConfig) if f.name not in ("host", "port", "fault")}
    assert set(SERVER_OPTIONS) == set(server)
    for name, kind in SERVER_OPTIONS.items():
        assert kind is (str if issubclass(server[name], Path) else server[name]), name


def test_the_harness_reads_the_series_and_stages_the_server_exposes():
    from reference_server.config import ServerConfig
    from reference_server.metrics import ServerMetrics
    from reference_server.pipeline import STAGES

    exposed = {f.name for f in text_string_to_metric_families(ServerMetrics(ServerConfig()).exposition().decode())}
    for name in (REFERENCE.request_histogram, REFERENCE.stage_histogram, REFERENCE.ready_timestamp,
                 REFERENCE.first_request_gauge, REFERENCE.process_start):
        assert name in exposed, name
    assert REFERENCE.requests_counter.removesuffix("_total") in exposed
    assert REFERENCE.stages == STAGES


def test_no_module_of_the_harness_imports_the_reference_server():
    importers = []
    for path in (ROOT / "sla").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "reference_server" or n.startswith("reference_server.") for n in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []


def test_judging_loads_neither_paddle_nor_opencv():
    code = ("import sys, sla.analysis.evaluate, sla.analysis.analyzer, sla.slafile, sla.reports, sla.scenario; "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split())
    assert "sla" in loaded
    assert not loaded & {"paddle", "cv2", "reference_server"}, loaded & {"paddle", "cv2", "reference_server"}
