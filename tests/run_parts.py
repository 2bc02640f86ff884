"""The first two parts of `make test`, side by side (the third, the `cpu_bound` tests alone,
follows in the Makefile):

- the tests marked `waits` (capacity searches, the history e2e: minutes of gate runs against the
  timer-only synthetic server, a seventh of a core each), four at a time;
- everything else not marked `cpu_bound`, three at a time, at a lower CPU priority (nice 10), so
  that its unit tests and promtool runs do not delay the waiting tests' load generators: a step
  whose P99 jumps on a busy machine is UNSTABLE, and the search runs it again.

Each part has its own temporary folder. The waiting part's output is printed when both have
ended. Ctrl-C reaches both (one process group): each stops what it started, then this ends with
130. Exit 0 when both passed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

PYTEST = [sys.executable, "-m", "pytest", "--dist", "loadfile", "--durations=10"]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sla-tests-") as tmp:
        log = Path(tmp) / "waits.log"
        with log.open("w") as out:
            waits = subprocess.Popen([*PYTEST, "-n", "4", "-m", "waits", "--basetemp", f"{tmp}/waits"], stdout=out, stderr=subprocess.STDOUT)
            rest = subprocess.Popen([*PYTEST, "-n", "3", "-m", "not cpu_bound and not waits", "--basetemp", f"{tmp}/rest"],
                                    preexec_fn=lambda: os.nice(10))
            signal.signal(signal.SIGTERM, lambda *_: [p.send_signal(signal.SIGINT) for p in (waits, rest)])
            interrupted = False
            try:
                codes = [rest.wait(), waits.wait()]
            except KeyboardInterrupt:
                interrupted, codes = True, [rest.wait(), waits.wait()]
        print("\n=== the tests marked waits, run beside the others ===", flush=True)
        print(log.read_text(), flush=True)
    return 130 if interrupted else next((c for c in codes if c), 0)


if __name__ == "__main__":
    sys.exit(main())
