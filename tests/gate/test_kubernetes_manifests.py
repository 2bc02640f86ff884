"""The Kubernetes manifests of deploy/kubernetes: valid YAML of the kinds Kubernetes expects, a
master Job whose command the gate's own parser accepts, workers whose command Locust's own parser
accepts, and the two agreeing (worker count, service name, ports, labels)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from sla.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"


def locust_options(args: list[str]) -> dict:
    """Locust's own parser on `args`, in a process of its own (importing Locust patches this one with gevent)."""
    code = ("import json, sys; from locust.argument_parser import parse_options; o = parse_options(args=sys.argv[1:]); "
            "print(json.dumps({k: getattr(o, k) for k in ('worker', 'master_host', 'master_port', 'locustfile')}))")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def docs() -> dict[str, dict]:
    out = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            assert {"apiVersion", "kind", "metadata", "spec"} <= set(doc), (path, doc.keys())
            out[doc["kind"]] = doc
    return out


def container(workload: dict) -> dict:
    (c,) = workload["spec"]["template"]["spec"]["containers"]
    return c


def test_the_master_job_and_the_workers_agree():
    d = docs()
    assert set(d) == {"Service", "Job", "Deployment"}
    service, job, workers = d["Service"], d["Job"], d["Deployment"]
    assert job["apiVersion"] == "batch/v1" and workers["apiVersion"] == "apps/v1" and service["apiVersion"] == "v1"
    # the Service reaches the Job's pod, on the ports the Job's container opens
    assert service["spec"]["selector"].items() <= job["spec"]["template"]["metadata"]["labels"].items()
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    assert ports["locust-master"] in {p["containerPort"] for p in container(job)["ports"]}
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    # the Job runs the gate as the master: the gate's own parser accepts its command
    command = container(job)["command"]
    assert command[:2] == ["sla", "run"]
    args = build_parser().parse_args(command[1:])
    assert args.master and args.allow_remote and args.master_bind_host == "0.0.0.0"
    assert args.expect_workers == workers["spec"]["replicas"]
    assert args.master_bind_port == ports["locust-master"] and args.metrics_port == ports["loadgen-metrics"]
    assert (ROOT / args.scenario).is_file() and (ROOT / args.sla).is_file()
    # the workers: Locust's own parser, pointed at the Service
    assert workers["spec"]["selector"]["matchLabels"].items() <= workers["spec"]["template"]["metadata"]["labels"].items()
    worker_command = container(workers)["command"]
    assert worker_command[0] == "locust"
    options = locust_options(worker_command[1:])
    assert options["worker"] and options["master_host"] == service["metadata"]["name"] and options["master_port"] == ports["locust-master"]
    assert (ROOT / options["locustfile"]).is_file()
