"""This project's OCR pipeline as a Ray Serve deployment, over Ray Serve's HTTP proxy.

    .venvs/ray_serve/bin/python integrations/ray_serve/ocr_app.py --port 8000 --metrics-port 8080 --preset tiny

Starts a local Ray cluster of its own (no dashboard; usage stats off), Serve's proxy on --host and
--port, and one replica of the deployment `OCR` at the route /ocr: `POST /ocr` with
`{"image": "<base64>"}` answers `{"lines": [...]}`; an image the pipeline cannot read is a 400
`{"error": ...}`. `GET /ocr` answers 200 once the replica serves the route: the readiness probe
(the proxy answers `/-/healthz`, and `/-/routes` with 200, before the application is up). Ray's metrics (`ray_serve_*`) on --metrics-port, which Ray otherwise picks at
random; reported every second (Ray's default, 10 s, would blur a phase's edges). Made by
`make ray_serve`.

Stopping: a signal to this process's group (as the gate stops a target) would reach Ray's raylet
and GCS before the driver could shut them down, leaving Ray's workers, each in a session of its
own, running. So this process only supervises: the driver runs in a session of its own, and
SIGTERM or SIGINT here is passed to it alone; it shuts Serve and Ray down, and whatever is left of
its session after that is killed.
"""

import argparse
import base64
import binascii
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import ray
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from reference_server.config import ServerConfig  # noqa: E402
from reference_server.errors import RequestError  # noqa: E402
from reference_server.workers import load_pipeline  # noqa: E402

SHUTDOWN_S = 30
# Ray's processes report their metrics to the agent every 10 s by default: a counter scraped at a
# phase's edge would then hold up to 10 s of the phase before. Every second, as the gate scrapes.
METRICS_REPORT_MS = 1000


@serve.deployment(num_replicas=1, max_ongoing_requests=8, ray_actor_options={"num_cpus": 1})
class OCR:
    def __init__(self, preset: str, threads: int) -> None:
        sys.path.insert(0, str(ROOT))
        self.pipeline = load_pipeline(ServerConfig(preset=preset, threads=threads, model_dir=ROOT / "models"))

    async def __call__(self, request: Request):
        if request.method == "GET":  # the readiness probe: this replica serves the route
            return {"ready": True}
        try:
            image = base64.b64decode((await request.json())["image"], validate=True)
            return self.pipeline(image).to_json()
        except (binascii.Error, ValueError, KeyError, TypeError, RequestError) as exc:
            return JSONResponse({"error": f"not an image: {exc}"}, status_code=400)


def supervise() -> int:
    driver = subprocess.Popen([sys.executable, *sys.argv, "--driver"], start_new_session=True)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _: driver.send_signal(signum))
    try:
        return driver.wait()
    finally:
        try:
            driver.wait(SHUTDOWN_S)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(driver.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--metrics-port", type=int, default=8080)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--driver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.driver:
        sys.exit(supervise())
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(include_dashboard=False, _node_ip_address=args.host, _metrics_export_port=args.metrics_port,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}}, log_to_driver=False,
             _system_config={"metrics_report_interval_ms": METRICS_REPORT_MS})
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # after ray.init, which installs handlers of its own
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve.start(http_options={"host": args.host, "port": args.port})
        serve.run(OCR.bind(args.preset, args.threads), name="ocr", route_prefix="/ocr")
        stop.wait()
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
