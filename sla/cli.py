"""The `sla` command: run, check, explain, diff, capacity, compare, plan, alerts, history, demo.

Exit codes (docs/verdicts.md): 0 PASS, 1 FAIL, 2 INCONCLUSIVE, 3 could not run (bad input file,
a part that did not start, Prometheus unreachable); 130 interrupted (everything started is stopped).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from sla.errors import SlaError

EXIT_INTERRUPTED = 130
DEFAULT_HISTORY = "sqlite:///runs/history.db"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sla", description="SLA gate for Paddle inference services.",
        epilog="exit codes: 0 PASS, 1 FAIL, 2 INCONCLUSIVE, 3 could not run, 130 interrupted",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    _run_parser(verbs)
    _check_parser(verbs)
    _explain_parser(verbs)
    _diff_parser(verbs)
    _capacity_parser(verbs)
    _compare_parser(verbs)
    _plan_parser(verbs)
    _alerts_parser(verbs)
    _history_parser(verbs)
    _demo_parser(verbs)
    return parser

def _run_parser(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    verb = verbs.add_parser("run", help="drive a scenario, judge it against an SLA file, exit with the verdict")
    verb.add_argument("scenario", type=Path, help="scenario YAML, e.g. scenarios/smoke.yaml")
    verb.add_argument("-f", "--locustfile", type=Path, help="your locustfile (imports the harness's user base, shape and plugin; "
                     "see docs/own-service.md); default locustfiles/ocr.py")
    verb.add_argument("--sla", type=Path, help="SLA YAML (default sla/thresholds/<scenario name>.yaml if it exists, else sla/thresholds/ocr.yaml)")
    verb.add_argument("--host", help="a running service to aim at (loopback); default: target.host, else start "
                     "target.command or the reference server")
    verb.add_argument("--allow-remote", action="store_true", help="consent to load a host that is not a loopback address")
    verb.add_argument("--prometheus", help="URL of a running Prometheus; default: start one for the run")
    verb.add_argument("--out", type=Path, default=Path("runs"), help="parent of the run directory (default runs)")
    verb.add_argument("--run-id", help="run id (default: UTC time and scenario name)")
    verb.add_argument("--metrics-port", type=int, help="load-generator metrics port (default: a free one; fix it for an existing Prometheus)")
    verb.add_argument("--processes", type=int, default=1, help="Locust worker processes on this machine (Locust's --processes; default 1)")
    verb.add_argument("--master", action="store_true", help="run the Locust master and wait for --expect-workers workers started "
                     "elsewhere (locust -f locustfiles/ocr.py --worker --master-host HOST)")
    verb.add_argument("--expect-workers", type=int, default=0, metavar="N", help="with --master: how many workers to wait for")
    verb.add_argument("--master-bind-host", default="127.0.0.1", help="with --master: the address the master listens on "
                     "(default 127.0.0.1; 0.0.0.0 for workers on other machines)")
    verb.add_argument("--master-bind-port", type=int, default=5557, help="with --master: its port (default 5557, Locust's)")
    verb.add_argument("--workers-wait", type=_duration(1.0), default=120.0, help="with --master: how long to wait for the workers (default 2m)")
    verb.add_argument("--keep-raw", action="store_true", help="also keep every response time in the run directory (accuracy checks)")
    _history_args(verb)
    verb.set_defaults(handler=_run)


def _check_parser(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    verb = verbs.add_parser("check", help="judge an earlier run again from its manifest and kept Prometheus data")
    verb.add_argument("run_dir", type=Path, help="a run directory (holds run.json)")
    verb.add_argument("--sla", type=Path, help="SLA YAML (default: the one the run used)")
    verb.add_argument("--baseline", type=Path, help="result.json of an earlier run, for baseline objectives")
    verb.add_argument("--prometheus", help="URL of the Prometheus holding the run (default: its kept data)")
    verb.add_argument("--out", type=Path, help="where its reports go (default: RUN_DIR/check-<time>; the run's own result.json is kept)")
    _history_args(verb)
    verb.set_defaults(handler=_check)


def _explain_parser(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    verb = verbs.add_parser("explain", help="why a run measured what it did: where the time went, how loaded the server "
                           "was, saturation, the setting to try, a what-if")
    verb.add_argument("run_dir", type=Path, help="a run directory (holds run.json)")
    verb.add_argument("--phase", help="only this phase (default: every phase the SLA judges)")
    verb.add_argument("--sla", type=Path, help="SLA YAML for the what-if (default: the one the run used; a run copied without it "
                     "is explained without one)")
    verb.add_argument("--prometheus", help="URL of the Prometheus holding the run (default: its kept data)")
    verb.set_defaults(handler=_explain)


def _diff_parser(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    verb = verbs.add_parser("diff", help="two runs side by side: what differs (environment, settings), each objective, and "
                           "the change in P50/P99 split into service time per stage and queueing")
    verb.add_argument("run_a", type=Path, help="a run directory, e.g. development's (copied from another machine is fine)")
    verb.add_argument("run_b", type=Path, help="another run directory of the same scenario, e.g. production's")
    verb.add_argument("--phase", help="only this phase (needed when the runs' phases differ)")
    verb.add_argument("--prometheus", help="URL of a Prometheus holding both runs (default: each run's kept data)")
    verb.set_defaults(handler=_diff)


def _capacity_parser(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    verb = verbs.add_parser("capacity", help="the highest arrival rate one replica takes while meeting the SLA; replicas for a peak")
    verb.add_argument("scenario", type=Path, help="scenario whose target, payloads and request settings the steps use")
    verb.add_argument("--sla", type=Path, required=True, help="SLA YAML; each step must meet one phase's objectives")
    verb.add_argument("--phase", help="which phase of the SLA file (default: its only one)")
    verb.add_argument("--target-peak", type=_rate, help="peak load to plan replicas for, e.g. 500/s")
    verb.add_argument("--headroom", type=_percent, default=0.30, help="capacity kept free per replica (default 30%%)")
    verb.add_argument("--start-rate", type=_rate, default=2.0, help="first step's arrival rate (default 2/s); the search goes up "
                      "from it when it passes, down (halving) when it fails")
    verb.add_argument("--min-rate", type=_rate, default=0.1, help="the floor of a search down: below it, no rate met the SLA (default 0.1/s)")
    verb.add_argument("--max-time", type=_duration(1.0), help="no step starts that would end past this, e.g. 30m (default: no bound)")
    verb.add_argument("--factor", type=_over_one, default=1.5, help="rate multiplier between steps going up (default 1.5)")
    verb.add_argument("--resolution", type=_percent, default=0.10, help="refine until the failing rate is within this of the passing one (default 10%%)")
    verb.add_argument("--max-steps", type=positive_int, default=16, help="at most this many steps (default 16)")
    verb.add_argument("--warmup", type=_duration(0.0), default=10.0, help="each step's warm-up at 2 users before its rate "
                     "(default 10s; 0s for a service with nothing to warm up)")
    verb.add_argument("--prometheus", help="URL of a running Prometheus; default: start one per step")
    verb.add_argument("--out", type=Path, default=Path("runs"))
    verb.set_defaults(handler=_capacity)


def _compare_parser(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    verb = verbs.add_parser("compare", help="run a scenario once per server configuration and compare")
    verb.add_argument("scenario", type=Path)
    verb.add_argument("--sla", type=Path, help="SLA YAML (default as for sla run)")
    verb.add_argument("--vary", action="append", default=[], metavar="OPTION=V1,V2",
                     help="a server option and its values, e.g. threads=1,2 (repeat for a grid)")
    verb.add_argument("--prometheus", help="URL of a running Prometheus; default: start one per run")
    verb.add_argument("--out", type=Path, default=Path("runs"))
    verb.set_defaults(handler=_compare)


def _plan_parser(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    verb = verbs.add_parser("plan", help="print what a scenario will do (phases, users over time, the SLA's sample needs), send nothing")
    verb.add_argument("scenario", type=Path)
    verb.add_argument("--sla", type=Path, help="SLA YAML (default as for sla run)")
    verb.add_argument("--processes", type=int, default=1, help="load-generator processes the run will use (default 1)")
    verb.set_defaults(handler=_plan)


def _alerts_parser(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    verb = verbs.add_parser("alerts", help="Prometheus rules, their promtool tests and a Grafana dashboard from an SLA file; "
                              "--replay: would they have fired during a run?")
    verb.add_argument("sla", type=Path, nargs="?", help="SLA YAML (with --replay: default the run's)")
    verb.add_argument("--target-api", help="the service's API, whose server metrics the rules read (default reference)")
    verb.add_argument("--metrics", help="a shipped server metrics mapping instead of the API's own (kserve, mlserver, triton, ...)")
    verb.add_argument("--job", default="server", help="the Prometheus job that scrapes the service (default server)")
    verb.add_argument("--window", type=_duration(1.0), default=300.0, help="rolling window of the recordings and threshold alerts (default 5m)")
    verb.add_argument("--for", dest="for_s", type=_duration(0.0), default=300.0, help="how long a threshold is crossed before its alert fires (default 5m)")
    verb.add_argument("--interval", type=_duration(1.0, whole=True), help="the rule groups' evaluation interval (default Prometheus' global "
                        "one; the replay's step, default 1m)")
    verb.add_argument("--phase", help="only this phase's objectives (default every phase's)")
    verb.add_argument("-o", "--out", type=Path, help="output directory (default alerts, with --replay RUN_DIR/alerts)")
    verb.add_argument("--replay", type=Path, metavar="RUN_DIR", help="evaluate the alerts over this run's recorded data")
    verb.add_argument("--prometheus", help="with --replay: URL of the Prometheus holding the run (default: its kept data)")
    verb.set_defaults(handler=_alerts)


def _history_parser(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    verb = verbs.add_parser("history", help="each objective across the runs of a history store, the change points in it, "
                            "and a page with the series and a link to each run's report")
    verb.add_argument("--history", metavar="URL", default=DEFAULT_HISTORY, help=f"the store (default {DEFAULT_HISTORY})")
    verb.add_argument("--scenario", help="only runs of this scenario (its name)")
    verb.add_argument("--objective", metavar="ID", help="only this objective, e.g. steady.latency.p99")
    verb.add_argument("--since", type=_since, help="only runs started since: a date (2026-12-01), a time (2026-12-01T08:00) or an age (7d, 12h)")
    verb.add_argument("--limit", type=positive_int, default=200, help="at most the last N runs (default 200)")
    verb.add_argument("--min-change", type=_percent, default=0.01, help="report no change point smaller than this, either way "
                      "(default 1%%; 0: every significant one)")
    verb.add_argument("-o", "--out", type=Path, default=Path("runs"), help="where history.html goes (default runs)")
    verb.set_defaults(handler=_history)


def _demo_parser(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    verb = verbs.add_parser("demo", help="start the reference server, send a few images, print what it read")
    verb.add_argument("--preset", default="base", help="model preset (tiny, base)")
    verb.set_defaults(handler=_demo)


def _history_args(verb: argparse.ArgumentParser) -> None:
    verb.add_argument("--history", metavar="URL", help="history store: judge baseline objectives with runs: N against its last N "
                      "comparable runs, then store this run (sqlite:///runs/history.db, or postgresql://USER@HOST/DB)")
    verb.add_argument("--any-environment", action="store_true", help="with --history: compare with runs of any environment "
                      "(default: only runs on the same CPU, cores, CPU limit and memory)")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _since(text: str) -> float:
    """Unix seconds from a date, a date and time (UTC unless it says), or an age such as 7d."""
    import time
    from datetime import datetime, timezone

    from sla.units import parse_duration

    age = text[:-1] + "h" if text.endswith("d") else None
    try:
        return time.time() - (parse_duration(age) * 24 if age else parse_duration(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (2026-12-01), a time (2026-12-01T08:00) or an age (7d, 12h, 30m)") from None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def _rate(text: str) -> float:
    from sla.units import parse_rate

    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _percent(text: str) -> float:
    from sla.units import parse_percent

    try:
        value = parse_percent(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be from 0% to under 100%")
    return value


def _over_one(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give one over 1, e.g. 1.5") from None
    if not value > 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the rate multiplier must be over 1, e.g. 1.5")
    return value


def _duration(minimum: float, whole: bool = False):
    from sla.units import parse_duration

    def parse(text: str) -> float:
        try:
            value = parse_duration(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if value < minimum or (whole and value != int(value)):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'whole seconds, ' if whole else ''}at least {minimum:g}s")
        return value
    return parse


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# -- the verbs: each parser's `handler` (set_defaults), imported when it runs ----------------------
def _run(args: argparse.Namespace) -> int:
    from sla.gate import RunOptions, run_gate

    if args.master != (args.expect_workers > 0):
        raise SlaError("--master and --expect-workers N (N >= 1) go together: the master waits for N workers started elsewhere")
    return run_gate(RunOptions(
        scenario=args.scenario, sla=args.sla, host=args.host, prometheus=args.prometheus, out=args.out,
        run_id=args.run_id, metrics_port=args.metrics_port, keep_raw=args.keep_raw, processes=args.processes,
        locustfile=args.locustfile, allow_remote=args.allow_remote, expect_workers=args.expect_workers,
        master_bind_host=args.master_bind_host, master_bind_port=args.master_bind_port, workers_wait_s=args.workers_wait,
        history=args.history, any_environment=args.any_environment,
    )).exit_code


def _check(args: argparse.Namespace) -> int:
    from sla.gate import check_run

    return check_run(args.run_dir, args.sla, args.baseline, args.prometheus, args.out, history_url=args.history,
                     any_environment=args.any_environment).exit_code


def _explain(args: argparse.Namespace) -> int:
    from sla.explain import run_explain

    return run_explain(args.run_dir, args.phase, args.prometheus, sys.stdout, args.sla)


def _diff(args: argparse.Namespace) -> int:
    from sla.explain import run_diff

    return run_diff(args.run_a, args.run_b, args.phase, args.prometheus, sys.stdout)


def _capacity(args: argparse.Namespace) -> int:
    from sla.capacity import CapacityOptions, run_capacity

    return run_capacity(CapacityOptions(
        scenario=args.scenario, sla=args.sla, phase=args.phase, target_peak=args.target_peak, headroom=args.headroom,
        start_rate=args.start_rate, factor=args.factor, resolution=args.resolution, max_steps=args.max_steps, warmup_s=args.warmup,
        min_rate=args.min_rate, max_time_s=args.max_time,
        out=args.out, prometheus=args.prometheus,
    ))


def _compare(args: argparse.Namespace) -> int:
    from sla.compare import run_compare

    return run_compare(args.scenario, args.sla, args.vary, args.out, args.prometheus)


def _plan(args: argparse.Namespace) -> int:
    from sla.claims import format_claims
    from sla.inputs import load_inputs
    from sla.scenario import format_plan

    inputs = load_inputs(args.scenario, args.sla)
    print(format_plan(inputs.scenario))
    print(format_claims(inputs.scenario, inputs.sla, args.processes))
    return 0


def _alerts(args: argparse.Namespace) -> int:
    from sla.alerts.command import AlertsRequest, run_alerts
    from sla.alerts.model import AlertOptions

    return run_alerts(AlertsRequest(
        sla=args.sla, target_api=args.target_api, metrics=args.metrics, out=args.out, replay=args.replay, prometheus=args.prometheus,
        options=AlertOptions(job=args.job, window_s=args.window, for_s=args.for_s, interval_s=args.interval, phase=args.phase)))


def _history(args: argparse.Namespace) -> int:
    from sla.history.series import run_history

    return run_history(args.history, args.scenario, args.objective, args.since, args.limit, args.out, args.min_change)


def _demo(args: argparse.Namespace) -> int:
    from sla.demo import run_demo

    return run_demo(sys.stdout, preset=args.preset)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # a cancelled CI job stops what we started, like Ctrl-C
    try:
        return args.handler(args)
    except SlaError as exc:
        print(f"sla: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("sla: interrupted; everything started was stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `sla plan ... | head`: the reader has gone; say nothing more (Python's recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
