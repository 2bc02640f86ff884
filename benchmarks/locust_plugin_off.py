"""The OCR request without the sla plugin: same FastHttpUser, same payload, same response check.
Used by bench_loadgen.py to measure what the plugin costs."""

import time

from locust import FastHttpUser, task

from sla.loadgen.checks import response_problem
from sla.payloads import make_payload
from sla.targets.reference import ReferenceApi

PAYLOAD = make_payload("small-plain-png")
API = ReferenceApi()
REQUEST = API.request(PAYLOAD)


class PlainOcrUser(FastHttpUser):
    @task
    def ocr(self) -> None:
        started = time.perf_counter()
        with self.client.request(REQUEST.method, REQUEST.path, data=REQUEST.body, headers=REQUEST.headers,
                                 name=PAYLOAD.name, catch_response=True) as resp:
            problem = response_problem(API, resp.status_code, resp.content, time.perf_counter() - started, 30.0,
                                       getattr(resp, "error", None))
            if problem:
                resp.failure(problem)
            else:
                resp.success()
