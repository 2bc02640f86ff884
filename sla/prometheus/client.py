"""The Prometheus client: every read of Prometheus goes through prometheus-api-client here.

Pitfalls of prometheus-api-client handled here: queries never rely on the client's import-time
default times (a range query passes explicit start and end; the analysis pins its instant queries
with `@`, sla/analysis/promql.py); connection errors become an SlaError (exit 3);
`check_prometheus_connection` only GETs `/`, so readiness is `GET /-/ready`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from datetime import datetime, timezone
from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

from sla.analysis.stats import Buckets, Scrapes, growth_between
from sla.errors import SlaError


class PromReader:
    """Instant queries; errors name the URL and the query. Queries pinned with `@` always give the
    same answer, so they are cached (the analysis asks some twice); others (polling) are not."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.client = PrometheusConnect(url=self.url, disable_ssl=True, timeout=timeout_s)
        self._cache: dict[str, list[dict[str, Any]]] = {}

    def check_ready(self) -> None:
        try:
            resp = requests.get(f"{self.url}/-/ready", timeout=5)
        except requests.RequestException as exc:
            raise SlaError(f"Prometheus at {self.url} is unreachable: {exc}") from None
        if resp.status_code != 200:
            raise SlaError(f"Prometheus at {self.url} is not ready: HTTP {resp.status_code} from /-/ready")

    def query(self, expr: str) -> list[dict[str, Any]]:
        if expr in self._cache:
            return self._cache[expr]
        try:
            result = self.client.custom_query(expr)
        except (PrometheusApiClientException, requests.RequestException) as exc:
            raise SlaError(f"Prometheus at {self.url} failed the query {expr!r}: {exc}") from None
        if "@" in expr:
            self._cache[expr] = result
        return result

    def range(self, expr: str, start: float, end: float, step_s: float) -> list[dict[str, Any]]:
        """A range query between explicit Unix times (never the client's import-time defaults)."""
        try:
            return self.client.custom_query_range(
                expr, start_time=datetime.fromtimestamp(start, timezone.utc), end_time=datetime.fromtimestamp(end, timezone.utc),
                step=f"{step_s:g}")
        except Exception as exc:  # the client raises several types
            raise SlaError(f"Prometheus at {self.url} failed the query {expr!r}: {exc}") from None

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        if not result:
            return None
        value = float(result[0]["value"][1])
        return value if math.isfinite(value) else None

    def vector(self, expr: str, label: str) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr)}

    def buckets(self, expr: str) -> Buckets | None:
        return Buckets.from_le(self.vector(expr, "le"))

    def growth(self, selector: str, by: str | None, start: float, end: float, margin_s: float = 30.0) -> dict[str, float]:
        """How much the cumulative series `selector` picks grew from `start` to `end`, summed by the
        label `by` ("" without one): every series read at both instants from its raw scrapes within
        `margin_s` of each (sla.analysis.stats.growth_between), not at its last scrape before it.
        The margin spans a few missed scrapes (a busy server's /metrics timing out), at which a
        series would otherwise look born after the start."""
        def around(t: float) -> dict[Hashable, Scrapes]:
            return {tuple(sorted(r["metric"].items())): (r["metric"].get(by, "") if by else "", [(float(ts), float(v)) for ts, v in r["values"]])
                    for r in self.query(f"{selector}[{2 * margin_s:g}s] @ {t + margin_s:.3f}")}

        return growth_between(around(start), around(end), start, end)
