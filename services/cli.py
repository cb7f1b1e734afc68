"""The `ancoef` command line: one subcommand module per job, registered here."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines `register(subparsers)`; the subcommand's function is stored as `func`.
COMMAND_MODULES = (
    "services.cmd_simulate",
    "services.cmd_train",
    "services.cmd_search",
    "services.cmd_explore",
    "services.cmd_serve",
    "services.cmd_sweep",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ancoef",
        description="Co-explore spiking neural networks and asynchronous neuromorphic hardware.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # the command is not part of this build
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"ancoef {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
