"""The ``quanttheory`` command (see README): list, run, figures, claims, bench."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quanttheory", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every experiment, with the paper figure it reproduces")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
