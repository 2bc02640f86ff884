"""The `sla` command. Verbs: demo (more come with later issues).

Exit codes (shared/DESIGN.md): 0 PASS, 1 FAIL, 2 INCONCLUSIVE, 3 could not run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sla.errors import SlaError

EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sla", description="SLA gate for Paddle inference services.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    demo = verbs.add_parser("demo", help="start the reference server, send a few images, print what it read")
    demo.add_argument("--preset", default="base", help="model preset (tiny, base)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.verb == "demo":
            from sla.demo import run_demo

            return run_demo(sys.stdout, preset=args.preset)
    except SlaError as exc:
        print(f"sla: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("sla: interrupted; everything started was stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 3


if __name__ == "__main__":
    sys.exit(main())
