"""Against the real server process: uvicorn on a free loopback port, tiny preset."""

from __future__ import annotations

import base64
import io
import re
import threading
import time

import pytest
import requests
from PIL import Image

from sla.payloads import make_payload
from sla.payloads.scoring import score

pytestmark = [pytest.mark.e2e, pytest.mark.cpu_bound]

PNG = make_payload("medium-plain-png")
JPEG = make_payload("medium-noisy-jpeg")
STAGE_KEYS = {"decode", "preprocess", "det", "postprocess", "crop", "rec", "total"}


@pytest.fixture(scope="module")
def server(start_server) -> str:
    return start_server(max_body_bytes=3_000_000, max_image_pixels=1_500_000)


def post(base, data, ctype, timeout=60):
    return requests.post(f"{base}/v1/ocr", data=data, headers={"Content-Type": ctype}, timeout=timeout)


def test_health_and_readiness(server):
    assert requests.get(f"{server}/healthz", timeout=5).json() == {"status": "alive"}
    assert requests.get(f"{server}/readyz", timeout=5).status_code == 200


@pytest.mark.parametrize("payload", [PNG, JPEG], ids=["png", "jpeg"])
def test_real_images_are_read_into_lines_with_stage_timings(server, payload):
    resp = post(server, payload.data, payload.content_type)
    assert resp.status_code == 200
    body = resp.json()
    read = score(payload.expected_text, [line["text"] for line in body["lines"]])  # the trained networks read the page
    assert read.exact_share >= 0.8 and read.cer <= 0.05, (read, [line["text"] for line in body["lines"]], payload.expected_text)
    for line in body["lines"]:
        assert line["text"] and 0.5 <= line["score"] <= 1.0
        assert len(line["box"]) == 4 and all(len(p) == 2 for p in line["box"])
    assert set(body["timing_ms"]) == STAGE_KEYS
    assert body["timing_ms"]["total"] >= body["timing_ms"]["det"] > 0


def test_json_with_base64_image_is_accepted(server):
    resp = requests.post(f"{server}/v1/ocr", json={"image": base64.b64encode(PNG.data).decode()}, timeout=60)
    assert resp.status_code == 200 and resp.json()["lines"]


def _bomb() -> bytes:
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, format="PNG")
    return buf.getvalue()


BAD_INPUTS = [
    ("empty body", b"", "image/png", 400),
    ("not an image", b"hello world", "image/png", 400),
    ("truncated image", PNG.data[: len(PNG.data) // 3], "image/png", 400),
    ("malformed JSON", b'{"image": ', "application/json", 400),
    ("JSON without image", b'{"picture": "x"}', "application/json", 400),
    ("invalid base64", b'{"image": "not base64!!"}', "application/json", 400),
    ("wrong content type", PNG.data, "text/plain", 415),
    ("body over the limit", b"\x89PNG" + b"0" * 3_100_000, "image/png", 413),
    ("image over the pixel limit", make_payload("large-plain-png").data, "image/png", 413),
    ("decompression bomb", _bomb(), "image/png", 413),
]


@pytest.mark.parametrize(("what", "data", "ctype", "status"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving(server, what, data, ctype, status):
    resp = post(server, data, ctype)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]
    assert post(server, PNG.data, PNG.content_type).status_code == 200


def _metric(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)"
    match = re.search(r"^" + pattern + "$", text, re.MULTILINE)
    assert match, f"{name}{{{labels}}} not exposed"
    return float(match.group(1))


def test_metrics_carry_every_family_and_the_first_request(server):
    post(server, PNG.data, PNG.content_type)
    text = requests.get(f"{server}/metrics", timeout=5).text
    for family in [
        "ocr_request_duration_seconds_bucket", "ocr_stage_duration_seconds_bucket", "ocr_queue_wait_seconds_bucket",
        "ocr_rec_batch_size_bucket", "ocr_in_flight_requests", "ocr_requests_total", "ocr_model_load_seconds",
        "ocr_warmup_seconds", "ocr_ready_timestamp_seconds", "ocr_first_request_duration_seconds",
        "ocr_server_config_info", "process_start_time_seconds",
    ]:
        assert re.search(rf"^{family}[ {{]", text, re.MULTILINE), family
    assert _metric(text, "ocr_first_request_duration_seconds") > 0
    assert _metric(text, "ocr_ready_timestamp_seconds") > _metric(text, "process_start_time_seconds")
    assert _metric(text, "ocr_requests_total", 'code="500"') == 0  # created at 0
    assert _metric(text, "ocr_requests_total", 'code="200"') >= 1
    for stage in ("decode", "det", "rec"):
        assert _metric(text, "ocr_stage_duration_seconds_count", f'stage="{stage}"') >= 1
    assert 'preset="tiny"' in text and 'le="0.001"' in text


def test_first_request_gauge_is_zero_until_the_first_request(start_server):
    base = start_server()
    text = requests.get(f"{base}/metrics", timeout=5).text
    assert _metric(text, "ocr_first_request_duration_seconds") == 0
    post(base, PNG.data, PNG.content_type)
    text = requests.get(f"{base}/metrics", timeout=5).text
    assert _metric(text, "ocr_first_request_duration_seconds") > 0


def test_full_queue_sheds_load_with_503_and_retry_after(start_server):
    base = start_server(instances=1, max_queue=0)
    big = make_payload("large-noisy-png")
    results: list[requests.Response] = []
    lock = threading.Lock()

    def fire():
        r = post(base, big.data, big.content_type)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=fire) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert 200 in codes and 503 in codes, codes
    shed = next(r for r in results if r.status_code == 503)
    assert shed.headers["Retry-After"] == "1" and "queue is full" in shed.json()["error"]
    assert post(base, PNG.data, PNG.content_type).status_code == 200


def test_one_thread_is_one_cores_worth_under_concurrent_load(start_server):
    """`--threads 1` holds the whole server to about one core when it is kept busy: its native pools
    (OpenMP's team and spin-wait, OpenCV's pool) are bounded. Unbounded, the same load took ~2
    cores (benchmarks/bench_server.py --only threads), starving a load generator on a 2-core machine."""
    base = start_server(threads=1, instances=1)
    page = JPEG  # a page whose decode, resize and detection ran OpenMP regions on other threads
    post(base, page.data, page.content_type)
    served: list[int] = []
    deadline = time.monotonic() + 8

    def client():  # three clients back to back: the one worker is never idle
        n = 0
        while time.monotonic() < deadline:
            n += post(base, page.data, page.content_type).status_code == 200
        served.append(n)

    cpu_before, t0 = _metric(requests.get(f"{base}/metrics", timeout=5).text, "process_cpu_seconds_total"), time.monotonic()
    clients = [threading.Thread(target=client) for _ in range(3)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    cores = (_metric(requests.get(f"{base}/metrics", timeout=5).text, "process_cpu_seconds_total") - cpu_before) / (time.monotonic() - t0)
    assert sum(served) >= 3, served
    assert cores <= 1.2, f"--threads 1 used {cores:.2f} cores"


SIXTY_FOUR_MIB = 64 * 1024 * 1024


def test_a_64_mib_post_gets_its_413_with_the_json_error_not_a_reset(server):
    resp = requests.post(f"{server}/v1/ocr", data=b"\x89PNG" + b"0" * (SIXTY_FOUR_MIB - 4), headers={"Content-Type": "image/png"}, timeout=60)
    assert resp.status_code == 413 and "over the limit" in resp.json()["error"]
    assert requests.get(f"{server}/healthz", timeout=5).status_code == 200


def test_a_chunked_body_over_the_limit_is_counted_while_read(server):
    def chunks():
        for _ in range(64):
            yield b"0" * (1024 * 1024)

    resp = requests.post(f"{server}/v1/ocr", data=chunks(), headers={"Content-Type": "image/png"}, timeout=60)
    assert resp.status_code == 413 and "over the limit" in resp.json()["error"]


def test_expect_100_continue_is_answered_413_before_the_body_is_sent(server):
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(server)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"POST /v1/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: {SIXTY_FOUR_MIB}\r\n"
                     "Expect: 100-continue\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(4096):  # the server closes after the answer (Connection: close)
            answer += chunk
        answer = answer.decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413") and "over the limit" in answer
