"""``qlsa-sim`` command line: ``main(argv)`` (callable from tests), the dispatch table and the error policy.

Each subcommand lives in ``qlsa_sim/commands/<name>.py``. Errors a user can cause (``QlsaSimError``) print one
line and exit with status 2; Ctrl-C keeps everything already written (recordings and runs continue with
``--resume``) and exits with 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from qlsa_sim import __version__
from qlsa_sim.commands import COMMANDS


def _command(name: str):
    return importlib.import_module(f"qlsa_sim.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qlsa-sim", description="Quantum-resource simulation and cost modeling "
                                                                  "for hybrid quantum/classical Newton solves.")
    parser.add_argument("--version", action="version", version=f"qlsa-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        _command(name).add_parser(sub)
    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    """Logging of a command with the verbosity options (``commands/options.add_quiet``; ``core/logs.py``): the log
    file is ``--log-file``, else ``qlsa-sim.log`` beside an explicit ``--out`` (in it if it is a folder), else the
    one the command opens beside its outputs."""
    import logging
    from pathlib import Path

    from qlsa_sim.core.logs import log_beside, setup_logging

    verbosity = -1 if getattr(args, "quiet", False) else int(getattr(args, "verbose", 0) or 0)
    setup_logging(verbosity, getattr(args, "log_file", None))
    if verbosity > 1:
        logging.basicConfig(level=logging.DEBUG)  # -vv: other libraries' messages too
    out = getattr(args, "out", None)
    if out and hasattr(args, "verbose") and not getattr(args, "log_file", None):
        out = Path(out)
        log_beside(out.parent, f"{out.stem}.log") if out.suffix else log_beside(out)


def main(argv: Sequence[str] | None = None) -> int:
    from qlsa_sim.core.threads import default_single_thread_env

    default_single_thread_env()
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    from qlsa_sim.core.logs import close_logging
    from qlsa_sim.errors import QlsaSimError

    _setup_logging(args)
    try:
        return int(_command(args.command).run(args) or 0)
    except QlsaSimError as e:
        print(f"qlsa-sim {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qlsa-sim {args.command}: interrupted; everything already written is kept (continue recordings and "
              "runs with --resume)", file=sys.stderr)
        return 130
    finally:
        close_logging()


if __name__ == "__main__":
    sys.exit(main())
