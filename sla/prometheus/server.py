"""A real Prometheus (the Debian package's binary) started by the harness, and the scrape config
a user adds to an existing one.

Data is kept in the run directory (`<run>/prometheus`), so `sla check` can judge the run again
later by starting a Prometheus on that data with no scrape targets.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from sla.analysis.promql import HAPROXY_JOB, LOADGEN_JOB, SERVER_JOB
from sla.errors import SlaError
from sla.processes import LOOPBACK, ManagedProcess, PortClash, free_port, wait_http_ok

SCRAPE_INTERVAL = "1s"
READY_TIMEOUT_S = 60.0
PORT_TRIES = 3
RETENTION = "3650d"  # kept as long as the run directory: it is the evidence


def scrape_config(loadgen: str | None, server: str | None, server_path: str | None = None, server_file: Path | None = None,
                  haproxy: str | None = None) -> dict:
    """Jobs the analyzer reads: `loadgen` (Locust master) and `server` (at its mapping's metrics
    path; none for a target without server metrics), scraped every second. Replicas behind HAProxy:
    the server job's targets come from `server_file` (the gate writes each replica into it as it
    starts, and takes it out when it stops), and HAProxy's exporter is job `haproxy`."""
    jobs = []
    for job, target, path in ((LOADGEN_JOB, loadgen, None), (SERVER_JOB, server, server_path), (HAPROXY_JOB, haproxy, None)):
        if target or (job == SERVER_JOB and server_file):
            targets = ({"file_sd_configs": [{"files": [str(server_file)], "refresh_interval": "1s"}]} if job == SERVER_JOB and server_file
                       else {"static_configs": [{"targets": [target]}]})
            jobs.append({"job_name": job, "scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL,
                         **({"metrics_path": path} if path and path != "/metrics" else {}), **targets})
    return {"global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL}, "scrape_configs": jobs}


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if not path:
        raise SlaError("the prometheus binary is not installed: run `make setup` (it installs the Debian package "
                       "prometheus), or pass --prometheus URL of a running one")
    return path


def start_prometheus(
    config_dir: Path, loadgen: str | None = None, server: str | None = None, data_dir: Path | None = None,
    server_path: str | None = None, server_file: Path | None = None, haproxy: str | None = None,
) -> tuple[ManagedProcess, str]:
    """Start Prometheus scraping the given host:port targets (none: only serve kept data).

    Its config and log go to `config_dir`, its TSDB to `data_dir` (default `config_dir/data`).
    Returns the process and its URL once /-/ready answers.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    data_dir = data_dir or config_dir / "data"
    config = config_dir / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(loadgen, server, server_path, server_file, haproxy), sort_keys=False))
    for attempt in range(1, PORT_TRIES + 1):
        port = free_port()
        url = f"http://{LOOPBACK}:{port}"
        process = ManagedProcess(
            "prometheus",
            [prometheus_binary(), f"--config.file={config}", f"--storage.tsdb.path={data_dir}",
             f"--web.listen-address={LOOPBACK}:{port}", f"--storage.tsdb.retention.time={RETENTION}",
             "--log.level=warn"],
            config_dir / "prometheus.log",
        )
        process.start()
        try:
            wait_http_ok(process, f"{url}/-/ready", READY_TIMEOUT_S, "ready")
            return process, url
        except PortClash:
            if attempt == PORT_TRIES:
                raise
        except BaseException:
            process.stop()
            raise
    raise AssertionError("unreachable")
