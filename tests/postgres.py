"""A real PostgreSQL server for a test, from Debian's package (make setup installs it): a cluster
made with initdb in a fresh folder, listening on a free loopback port, stopped (by its pid, through
pg_ctl) when the test ends. As root it runs as Debian's `postgres` user: the server refuses root."""

from __future__ import annotations

import getpass
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sla.processes import free_port

USER = "sla"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:  # a missing server is a broken setup, not a reason to skip
        raise RuntimeError(f"PostgreSQL's {name} is not installed: run `make setup` (it installs Debian's postgresql)")
    return found[-1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A running server's URL for the history store: postgresql://sla@127.0.0.1:PORT/postgres."""
    as_root = os.geteuid() == 0
    owner = "postgres" if as_root else getpass.getuser()
    folder = tempfile.mkdtemp(prefix="sla-pg-")
    data = os.path.join(folder, "data")
    if as_root:
        shutil.chown(folder, owner)
    run_as = ["runuser", "-u", owner, "--"] if as_root else []
    subprocess.run([*run_as, _bin("initdb"), "-D", data, "-U", USER, "--auth=trust", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    port = free_port()
    ctl = [*run_as, _bin("pg_ctl"), "-D", data, "-l", os.path.join(folder, "server.log"), "-w", "-t", "60"]
    subprocess.run([*ctl, "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True, timeout=90)
    try:
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "fast", "stop"], capture_output=True, timeout=90)
        deadline = time.monotonic() + 30
        while os.path.exists(os.path.join(data, "postmaster.pid")) and time.monotonic() < deadline:
            time.sleep(0.2)
        shutil.rmtree(folder, ignore_errors=True)
