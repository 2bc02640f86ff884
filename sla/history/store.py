"""The history store: every judged run of `sla run --history URL` (and `sla check --history URL`),
in SQLite (the embedded default, `sqlite:///runs/history.db`) or PostgreSQL
(`postgresql://user@host/db`, for CI runners that keep nothing between jobs). SQLAlchemy Core.

What a run leaves there: its result.json, run.json and environment whole (`runs`); per phase the
values a baseline compares, its HdrHistograms and its per-window series (`phases`); per objective
its value, limit and verdict (`objectives`, the series of `sla history`). Runs are compared only
with runs of the same scenario and SLA (their digests) and, unless asked otherwise, the same
environment fingerprint (`fingerprint`).

The schema is versioned (`meta.schema_version`, MIGRATIONS): a store written by an older version
is migrated in one transaction when opened; one written by a newer version is refused, untouched.
Every write is one transaction (SQLite's taken with BEGIN IMMEDIATE, so that two gates appending
at once wait for each other instead of failing): a run is stored whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sla.errors import SlaError

SCHEMES = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
ACCEPTED = "sqlite:///PATH (e.g. sqlite:///runs/history.db) or postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
DEFAULT_URL = "sqlite:///runs/history.db"
SQLITE_BUSY_S = 60.0  # how long a writer waits for another one's transaction
PG_LOCK = 7_411_025  # the advisory lock that serialises migrations on PostgreSQL
# Values a phase keeps for baselines: the percentiles (from the HdrHistogram where the run has one,
# as judged), throughput, error rate and counts.
PHASE_KEYS = ("p50", "p90", "p95", "p99", "p99.9", "throughput", "error_rate", "requests", "duration")
# What tells two machines apart for a baseline: the CPU (model, cores, affinity, limit, ISA) and
# memory of the load generator's host, and the CPU facts the target reports of itself.
FINGERPRINT_KEYS = ("cpu_model", "cores", "affinity", "cpu_limit", "isa", "memory_bytes")


class HistoryError(SlaError):
    """A history URL or store that cannot be used: nothing was written."""


def _tables(meta):
    from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text

    runs = Table(
        "runs", meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", String(200), nullable=False, unique=True),
        Column("scenario", String(200), nullable=False),
        Column("scenario_sha", String(64), nullable=False),
        Column("sla_sha", String(64), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("started_at", Float, nullable=False),
        Column("stored_at", Float, nullable=False),
        Column("verdict", String(20), nullable=False),
        Column("report", Text, nullable=False),  # the run's report.html, as a path
        Column("result", Text, nullable=False),  # result.json
        Column("manifest", Text, nullable=False),  # run.json
        Column("environment", Text, nullable=False),
        Index("runs_comparable", "scenario_sha", "sla_sha", "fingerprint", "started_at"),
        Index("runs_scenario", "scenario", "started_at"),
    )
    phases = Table(
        "phases", meta,
        Column("run", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        Column("phase", String(200), primary_key=True),
        Column("vals", Text, nullable=False),  # {p99: s, throughput: /s, ...}
        Column("hdr", Text, nullable=False),  # {timing: encoded HdrHistogram}
        Column("windows", Text, nullable=False),  # [{end, throughput, p99, p99_low, p99_high}, ...]
    )
    objectives = Table(
        "objectives", meta,
        Column("run", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        Column("objective", String(300), primary_key=True),
        Column("kind", String(100), nullable=False),
        Column("value", Float),
        Column("lim", Float),
        Column("unit", String(20), nullable=False),
        Column("verdict", String(20), nullable=False),
        Index("objectives_series", "objective", "run"),
    )
    meta_table = Table("meta", meta, Column("key", String(100), primary_key=True), Column("value", Text, nullable=False))
    return runs, phases, objectives, meta_table


def _migrate_1(conn, t) -> None:
    """Version 1: runs and their phases."""
    for table in (t.meta, t.runs, t.phases):
        table.create(conn, checkfirst=True)


def _migrate_2(conn, t) -> None:
    """Version 2: one row per judged objective (the series of `sla history`), filled from the
    results of the runs already stored."""
    t.objectives.create(conn, checkfirst=True)
    from sqlalchemy import select

    for run_pk, text in conn.execute(select(t.runs.c.id, t.runs.c.result)).all():
        rows = objective_rows(run_pk, json.loads(text))
        if rows:
            conn.execute(t.objectives.insert(), rows)


MIGRATIONS: tuple[Callable[[Any, Any], None], ...] = (_migrate_1, _migrate_2)
SCHEMA_VERSION = len(MIGRATIONS)


class _Tables:
    def __init__(self) -> None:
        from sqlalchemy import MetaData

        self.metadata = MetaData()
        self.runs, self.phases, self.objectives, self.meta = _tables(self.metadata)


def objective_rows(run_pk: int, result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per judged objective. A percentile's value is the HdrHistogram's where the run has
    one (3 significant digits; the judged value is interpolated inside a 10 %-wide bucket, which
    makes a series jump when a few requests cross a boundary)."""
    return [{"run": run_pk, "objective": o["id"], "kind": o.get("kind", ""), "lim": _number(o.get("limit")),
             "value": _first_number((o.get("extra") or {}).get("hdr"), o.get("value")),
             "unit": o.get("unit") or "", "verdict": o.get("verdict", "")} for o in result.get("objectives", []) if o.get("id")]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value == value else None


def _first_number(*values: Any) -> float | None:
    """The first of `values` that is a number (None: none is)."""
    return next((n for v in values if (n := _number(v)) is not None), None)


def engine_url(url: str) -> str:
    """The SQLAlchemy URL of a history URL; HistoryError naming what is accepted."""
    scheme, sep, rest = url.partition("://")
    driver = SCHEMES.get(scheme.split("+")[0].lower()) if sep else None
    if driver is None:
        raise HistoryError(f"--history {url}: unknown scheme {scheme + '://' if sep else '(none)'}; accepted: {ACCEPTED}")
    if driver == "sqlite":
        path = rest[1:] if rest.startswith("/") else ""
        if not path or path == ":memory:":
            raise HistoryError(f"--history {url}: give the database file, e.g. {DEFAULT_URL} (relative) or sqlite:////abs/path/history.db")
        return f"sqlite:///{path}"
    return f"{driver}://{rest}"


def fingerprint(environment: dict[str, Any]) -> str:
    """The environment's fingerprint: a digest of the host's and the target's CPU and memory facts
    (not versions: a new harness or Python is what a release changes, not the machine)."""
    host = {k: (environment.get("loadgen") or {}).get(k) for k in FINGERPRINT_KEYS}
    target = environment.get("target") or {}
    cpus = [{k: v for k, v in one.items() if k in FINGERPRINT_KEYS}
            for labels in (target.get("info") or {}).values() for one in (labels if isinstance(labels, list) else [labels])
            if isinstance(one, dict) and "cpu_model" in one]
    text = json.dumps({"host": host, "target": cpus}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StoredRun:
    """One stored run as baselines and `sla history` read it."""

    pk: int
    run_id: str
    scenario: str
    started_at: float
    verdict: str
    report: str
    values: dict[str, dict[str, float | None]]  # phase -> PHASE_KEYS -> value


@dataclass(frozen=True)
class Comparable:
    """The comparable runs a baseline is judged against, and what the store held besides."""

    runs: tuple[StoredRun, ...]  # oldest first
    others: str  # why the store's other runs of the scenario are not comparable ("" when none)


class HistoryStore:
    def __init__(self, url: str, create: bool = True) -> None:
        """`create`: make an SQLite file (and its folder) that does not exist yet; else refuse it."""
        self.url = url
        self._sa_url = engine_url(url)
        from sqlalchemy import create_engine, event

        if self._sa_url.startswith("sqlite:///"):
            path = Path(self._sa_url[len("sqlite:///"):])
            if not create and not path.is_file():
                raise HistoryError(f"--history {url}: no store at {path}; `sla run --history {url}` makes it")
            path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(self._sa_url, connect_args={"timeout": SQLITE_BUSY_S})

            @event.listens_for(self.engine, "connect")
            def _connect(dbapi, _record):  # SQLAlchemy's recipe: the driver leaves transactions to us
                dbapi.isolation_level = None
                dbapi.execute("PRAGMA foreign_keys = ON")

            @event.listens_for(self.engine, "begin")
            def _begin(conn):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            self.engine = create_engine(self._sa_url, pool_pre_ping=True)
        self.t = _Tables()

    @contextmanager
    def _write(self) -> Iterator[Any]:
        from sqlalchemy import exc, text

        try:
            with self.engine.begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK})
                yield conn
        except exc.OperationalError as error:
            raise HistoryError(f"--history {self.url}: cannot write the store ({str(error.orig).strip() or error})") from None

    def open(self) -> "HistoryStore":
        """Check the store and bring it to this version's schema (creating it when empty);
        HistoryError, with nothing written, when it cannot be used."""
        from sqlalchemy import exc, inspect, select

        try:
            with self._write() as conn:
                names = set(inspect(conn).get_table_names())
                version = 0
                if "meta" in names:
                    row = conn.execute(select(self.t.meta.c.value).where(self.t.meta.c.key == "schema_version")).first()
                    version = int(row[0]) if row else 0
                elif names & {"runs", "phases"}:
                    raise HistoryError(f"--history {self.url}: the database holds tables ({', '.join(sorted(names))}) but no "
                                       "history schema version: not a history store of this tool; give another database")
                if version > SCHEMA_VERSION:
                    raise HistoryError(f"--history {self.url}: the store has schema version {version}, written by a newer "
                                       f"version of the harness; this one reads up to {SCHEMA_VERSION}: upgrade the harness "
                                       "(the store was left untouched)")
                for migrate in MIGRATIONS[version:]:
                    migrate(conn, self.t)
                if version < SCHEMA_VERSION:
                    if version:
                        conn.execute(self.t.meta.update().where(self.t.meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))
                    else:
                        conn.execute(self.t.meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        except exc.SQLAlchemyError as error:
            raise HistoryError(f"--history {self.url}: cannot open the store ({str(getattr(error, 'orig', error)).strip()})") from None
        return self

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ---------------------------------------------------------------------------------
    def append(self, result: dict[str, Any], manifest: dict[str, Any], hdr: dict[str, Any], report: Path) -> int | None:
        """Store a judged run whole (result.json, run.json, hdr.json's {phase: {timing: summary}}),
        in one transaction. Returns its key, or None when a run of that id is already stored (left
        as it was)."""
        from sqlalchemy import select

        environment = manifest.get("environment") or {}
        row = {
            "run_id": manifest["run_id"], "scenario": (manifest.get("scenario") or {}).get("name", ""),
            "scenario_sha": (manifest.get("scenario") or {}).get("sha256", ""), "sla_sha": (manifest.get("sla") or {}).get("sha256", ""),
            "fingerprint": fingerprint(environment), "started_at": float(manifest.get("started_at") or 0.0), "stored_at": time.time(),
            "verdict": result.get("verdict", ""), "report": str(Path(report).resolve()), "result": json.dumps(result),
            "manifest": json.dumps(manifest), "environment": json.dumps(environment),
        }
        with self._write() as conn:
            if conn.execute(select(self.t.runs.c.id).where(self.t.runs.c.run_id == row["run_id"])).first():
                return None
            pk = conn.execute(self.t.runs.insert().values(**row)).inserted_primary_key[0]
            phases = [{"run": pk, "phase": name, "vals": json.dumps(phase_values(summary, hdr.get(name))),
                       "hdr": json.dumps({timing: h.get("encoded") for timing, h in (hdr.get(name) or {}).items() if isinstance(h, dict)}),
                       "windows": json.dumps(summary.get("windows") or [])}
                      for name, summary in (result.get("phases") or {}).items()]
            if phases:
                conn.execute(self.t.phases.insert(), phases)
            rows = objective_rows(pk, result)
            if rows:
                conn.execute(self.t.objectives.insert(), rows)
            return int(pk)

    # -- reading ---------------------------------------------------------------------------------
    def comparable(self, manifest: dict[str, Any], count: int, any_environment: bool = False) -> Comparable:
        """The last `count` runs stored before this one (by start time) of the same scenario and SLA
        digests and, unless `any_environment`, the same environment fingerprint."""
        from sqlalchemy import func, select

        r = self.t.runs
        scenario = manifest.get("scenario") or {}
        sla_sha = (manifest.get("sla") or {}).get("sha256", "")
        fp = fingerprint(manifest.get("environment") or {})
        before = [r.c.started_at < float(manifest.get("started_at") or time.time()), r.c.run_id != manifest.get("run_id")]
        same = [r.c.scenario_sha == scenario.get("sha256", ""), r.c.sla_sha == sla_sha, *([] if any_environment else [r.c.fingerprint == fp])]
        with self.engine.connect() as conn:
            rows = conn.execute(select(r.c.id, r.c.run_id, r.c.scenario, r.c.started_at, r.c.verdict, r.c.report)
                                .where(*before, *same).order_by(r.c.started_at.desc()).limit(count)).all()
            others = ""
            if len(rows) < count:
                of_scenario = [r.c.scenario == scenario.get("name", ""), *before]
                total = conn.execute(select(func.count()).select_from(r).where(*of_scenario)).scalar_one()
                if total > len(rows):
                    digests = conn.execute(select(r.c.scenario_sha, r.c.sla_sha, r.c.fingerprint).where(*of_scenario)).all()
                    others = _why_not_comparable(digests, scenario.get("sha256", ""), sla_sha, fp, any_environment)
            runs = self._with_values(conn, rows)
        return Comparable(tuple(reversed(runs)), others)

    def runs(self, scenario: str | None = None, since: float | None = None, limit: int | None = None) -> list[StoredRun]:
        """Stored runs, oldest first: of one scenario (by name), started at or after `since`, the
        last `limit` of them."""
        from sqlalchemy import select

        r = self.t.runs
        where = [*([r.c.scenario == scenario] if scenario else []), *([r.c.started_at >= since] if since is not None else [])]
        query = select(r.c.id, r.c.run_id, r.c.scenario, r.c.started_at, r.c.verdict, r.c.report).where(*where).order_by(r.c.started_at.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit) if limit else query).all()
            return list(reversed(self._with_values(conn, rows)))

    def objective_series(self, runs: list[StoredRun], objective: str | None = None) -> dict[str, list[tuple[int, dict[str, Any]]]]:
        """For the given runs: objective id -> [(run key, {value, limit, unit, verdict, kind})] in run order."""
        from sqlalchemy import select

        o = self.t.objectives
        keys = [run.pk for run in runs]
        out: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                query = select(o).where(o.c.run.in_(keys[i:i + 500]), *([o.c.objective == objective] if objective else []))
                for row in conn.execute(query).mappings():
                    out.setdefault(row["objective"], []).append(
                        (row["run"], {"value": row["value"], "limit": row["lim"], "unit": row["unit"], "verdict": row["verdict"], "kind": row["kind"]}))
        order = {k: i for i, k in enumerate(keys)}
        return {name: sorted(points, key=lambda p: order[p[0]]) for name, points in sorted(out.items())}

    def _with_values(self, conn, rows) -> list[StoredRun]:
        from sqlalchemy import select

        p = self.t.phases
        values: dict[int, dict[str, dict[str, float | None]]] = {}
        keys = [row.id for row in rows]
        for i in range(0, len(keys), 500):
            for run_pk, phase, vals in conn.execute(select(p.c.run, p.c.phase, p.c.vals).where(p.c.run.in_(keys[i:i + 500]))).all():
                values.setdefault(run_pk, {})[phase] = json.loads(vals)
        return [StoredRun(row.id, row.run_id, row.scenario, row.started_at, row.verdict, row.report, values.get(row.id, {})) for row in rows]


def phase_values(summary: dict[str, Any], hdr: dict[str, Any] | None) -> dict[str, float | None]:
    """What a baseline compares of a phase: its percentiles as judged (from the HdrHistogram of the
    timing the phase was judged by, where it has one, else from Prometheus' buckets), throughput,
    error rate and counts."""
    timing = "intended" if any(k.endswith("_uncorrected") for k in summary) else "actual"
    exact = (hdr or {}).get(timing) or {}
    return {k: _first_number(exact.get(k), summary.get(k)) for k in PHASE_KEYS}


def _why_not_comparable(digests, scenario_sha: str, sla_sha: str, fp: str, any_environment: bool) -> str:
    other_scenario = sum(1 for s, _, _ in digests if s != scenario_sha)
    other_sla = sum(1 for s, q, _ in digests if s == scenario_sha and q != sla_sha)
    other_env = sum(1 for s, q, f in digests if s == scenario_sha and q == sla_sha and f != fp and not any_environment)
    parts = [f"{n} {what}" for n, what in ((other_scenario, "with another scenario file (digest)"), (other_sla, "judged by another SLA file (digest)"),
                                          (other_env, "in another environment (CPU, cores, limit, memory; --any-environment compares them)")) if n]
    return f"of the store's {len(digests)} earlier runs of this scenario, " + ", ".join(parts) if parts else ""
