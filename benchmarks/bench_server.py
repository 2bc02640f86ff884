"""Measured comparisons for the reference server (figures, not pass/fail).

    python benchmarks/bench_server.py [--preset base] [--only engine,batching,coldstart,http,threads]

1. engine     oneDNN on/off x 1/2 threads: median in-process pipeline latency.
2. batching   24 real crops recognised in batches of 6 vs one at a time: throughput ratio.
3. coldstart  process start to ready, first request with and without warm-up, vs steady median.
4. http       client-observed median at concurrency 1 vs the server's own timing_ms.total.
5. threads    `--threads 1` kept busy by 3 clients: the server's CPU per thread (as `top -H` shows it),
              its native pools bounded (as shipped) and unbounded (OpenMP and OpenCV left to their defaults).

Timings on a 2-core machine are noisy: each figure is a median, and comparisons are ratios of
figures measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reference_server.config import ServerConfig  # noqa: E402
from reference_server.pipeline.decode import decode_image  # noqa: E402
from reference_server.pipeline.detection import db_boxes, preprocess_detection  # noqa: E402
from reference_server.pipeline.recognition import RecParams, aspect_batches, crop_box, rec_input  # noqa: E402
from reference_server.workers import load_pipeline, warm_up  # noqa: E402
from sla.payloads import make_payload  # noqa: E402
from sla.processes import free_port, reference_server, wait_http_ok  # noqa: E402

PAGES = ("small-plain-png", "medium-noisy-jpeg", "large-plain-png")


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def bench_engine(preset: str, model_dir: Path, repeats: int) -> None:
    print("\n## 1. oneDNN x threads: median in-process pipeline latency (ms), pages " + ", ".join(PAGES))
    payloads = [make_payload(p).data for p in PAGES]
    results = {}
    for onednn in (True, False):
        for threads in (1, 2):
            config = ServerConfig(preset=preset, model_dir=model_dir, threads=threads, onednn=onednn)
            pipeline = load_pipeline(config)
            warm_up(pipeline)
            per_page = [median_ms(lambda d=d: pipeline(d), repeats) for d in payloads]
            results[(onednn, threads)] = per_page
            print(f"onednn {'on ' if onednn else 'off'} threads {threads}: "
                  + "  ".join(f"{p} {m:7.1f}" for p, m in zip(PAGES, per_page))
                  + f"  | mean of medians {statistics.mean(per_page):7.1f}")
    ref = statistics.mean(results[(True, 2)])
    for key, per_page in results.items():
        print(f"  ratio to oneDNN on/2 threads: onednn {'on ' if key[0] else 'off'} threads {key[1]}: "
              f"{statistics.mean(per_page) / ref:.2f}x")


def bench_batching(preset: str, model_dir: Path, repeats: int) -> None:
    print("\n## 2. Recognising 24 crops: batch 6 vs serial (batch 1)")
    config = ServerConfig(preset=preset, model_dir=model_dir)
    pipeline = load_pipeline(config)
    image = decode_image(make_payload("medium-plain-png").data, config.max_image_pixels)
    prob = pipeline.det.run(preprocess_detection(image, 960))[0, 0]
    boxes = db_boxes(prob, image.shape[0], image.shape[1], pipeline.settings.db)
    crops = [crop_box(image, b) for b in boxes]
    crops = (crops * (24 // max(len(crops), 1) + 1))[:24]
    def recognise(batch_size: int) -> None:
        params = RecParams(batch_size=batch_size)
        for batch in aspect_batches(crops, batch_size):
            pipeline.rec.run(rec_input([crops[i] for i in batch], params))

    for b in (6, 1):
        for _ in range(3):
            recognise(b)  # warm every shape
    batched = median_ms(lambda: recognise(6), repeats)
    serial = median_ms(lambda: recognise(1), repeats)
    print(f"24 crops: batch 6 {batched:.1f} ms ({24e3 / batched:.0f} crops/s), serial {serial:.1f} ms "
          f"({24e3 / serial:.0f} crops/s); throughput ratio batched/serial {serial / batched:.2f}x")


def _start(preset: str, model_dir: Path, log_dir: Path, env: dict[str, str] | None = None, **options):
    port = free_port()
    server = reference_server(port, log_dir / f"server-{port}.log", {"preset": preset, "model_dir": model_dir, **options})
    server.env = {**os.environ, **env} if env else None
    server.start()
    base = f"http://127.0.0.1:{port}"
    return server, base


def _post(base: str, payload) -> tuple[float, dict]:
    t0 = time.perf_counter()
    resp = requests.post(f"{base}/v1/ocr", data=payload.data, headers={"Content-Type": payload.content_type}, timeout=120)
    resp.raise_for_status()
    return (time.perf_counter() - t0) * 1e3, resp.json()


def bench_coldstart(preset: str, model_dir: Path, log_dir: Path, trials: int) -> None:
    print(f"\n## 3. Cold start (median of {trials} fresh processes each), page medium-noisy-jpeg")
    payload = make_payload("medium-noisy-jpeg")
    for warmup in (True, False):
        ready_s, first_ms, steady_ms = [], [], []
        for _ in range(trials):
            server, base = _start(preset, model_dir, log_dir, warmup=warmup)
            with server:
                ready_at = wait_http_ok(server, f"{base}/readyz", 300, "ready")
                ready_s.append(ready_at - server.started_at)
                first_ms.append(_post(base, payload)[0])
                steady_ms.append(statistics.median(_post(base, payload)[0] for _ in range(15)))
        first, steady = statistics.median(first_ms), statistics.median(steady_ms)
        print(f"warm-up {'on ' if warmup else 'off'}: start->ready {statistics.median(ready_s):.2f} s, "
              f"first request {first:.0f} ms, steady median {steady:.0f} ms, first/steady {first / steady:.2f}x")


def bench_http(preset: str, model_dir: Path, log_dir: Path, repeats: int) -> None:
    print("\n## 4. HTTP overhead at concurrency 1: client median vs server timing_ms.total")
    server, base = _start(preset, model_dir, log_dir)
    with server:
        wait_http_ok(server, f"{base}/readyz", 300, "ready")
        for name in PAGES:
            payload = make_payload(name)
            for _ in range(3):
                _post(base, payload)
            client, server_total = [], []
            for _ in range(repeats):
                ms, body = _post(base, payload)
                client.append(ms)
                server_total.append(body["timing_ms"]["total"])
            c, s = statistics.median(client), statistics.median(server_total)
            print(f"{name}: client {c:.1f} ms, server total {s:.1f} ms, overhead {c - s:.1f} ms ({(c / s - 1) * 100:.1f} %)")


def _thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of `pid` (utime + stime from /proc), keyed "name/tid"."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            out[f"{(task / 'comm').read_text().strip()}/{task.name}"] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            pass  # the thread ended
    return out


# Unbounded: what the pools do when nothing holds them (an OpenMP team of every core spinning
# 200 ms after each region, OpenCV's pool of every core); the shipped server sets these itself
# unless the environment already does (reference_server/engine.py, native_thread_env).
UNBOUNDED = {"OMP_NUM_THREADS": str(os.cpu_count()), "MKL_NUM_THREADS": str(os.cpu_count()),
             "OPENBLAS_NUM_THREADS": str(os.cpu_count()), "KMP_BLOCKTIME": "200", "OPENCV_FOR_THREADS_NUM": str(os.cpu_count())}


def bench_threads(preset: str, model_dir: Path, log_dir: Path, seconds: float = 10.0) -> None:
    print(f"\n## 5. --threads 1 kept busy by 3 clients for {seconds:g} s, page medium-noisy-jpeg: CPU per thread")
    payload = make_payload("medium-noisy-jpeg")
    shares = {}
    for label, env in (("bounded (as shipped)", None), ("unbounded", UNBOUNDED)):
        server, base = _start(preset, model_dir, log_dir, env=env, threads=1, instances=1)
        with server:
            wait_http_ok(server, f"{base}/readyz", 300, "ready")
            for _ in range(3):
                _post(base, payload)
            deadline = time.monotonic() + seconds
            served = []

            def client():
                n = 0
                while time.monotonic() < deadline:
                    _post(base, payload)
                    n += 1
                served.append(n)

            before, t0 = _thread_cpu(server.pid), time.monotonic()
            clients = [threading.Thread(target=client) for _ in range(3)]
            for t in clients:
                t.start()
            for t in clients:
                t.join()
            after, wall = _thread_cpu(server.pid), time.monotonic() - t0
        per_thread = sorted(((after[k] - before.get(k, 0.0)) / wall * 100, k) for k in after)[::-1]
        total = sum(pct for pct, _ in per_thread)
        shares[label] = total
        busy = [f"{k} {pct:.0f}%" for pct, k in per_thread if pct >= 1]
        print(f"{label}: {total:.0f} % CPU over {len(after)} threads, {sum(served) / wall:.1f} requests/s; "
              f"threads over 1 %: {', '.join(busy)}")
    print(f"  unbounded / bounded CPU: {shares['unbounded'] / shares['bounded (as shipped)']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="base")
    parser.add_argument("--only", default="engine,batching,coldstart,http,threads")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    args = parser.parse_args()
    only = set(args.only.split(","))
    log_dir = Path(tempfile.mkdtemp(prefix="bench-server-"))
    print(f"preset {args.preset}; server logs in {log_dir}")
    if "engine" in only:
        bench_engine(args.preset, args.model_dir, args.repeats)
    if "batching" in only:
        bench_batching(args.preset, args.model_dir, args.repeats)
    if "coldstart" in only:
        bench_coldstart(args.preset, args.model_dir, log_dir, args.trials)
    if "http" in only:
        bench_http(args.preset, args.model_dir, log_dir, args.repeats)
    if "threads" in only:
        bench_threads(args.preset, args.model_dir, log_dir)


if __name__ == "__main__":
    main()
