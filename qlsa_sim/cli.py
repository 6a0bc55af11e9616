"""``qlsa-sim`` command line: ``main(argv)`` (callable from tests), the dispatch table and the error policy.

Each subcommand lives in ``qlsa_sim/commands/<name>.py``. Errors a user can cause (``QlsaSimError``, and
argparse's own: ``OneLineParser``) print one line and exit with status 2; Ctrl-C keeps everything already written (recordings and runs continue with
``--resume``) and exits with 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from qlsa_sim import __version__
from qlsa_sim.commands import COMMANDS


def _command(name: str):
    return importlib.import_module(f"qlsa_sim.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    from qlsa_sim.commands.argtypes import OneLineParser

    parser = OneLineParser(prog="qlsa-sim", description="Quantum-resource simulation and cost modeling "
                                                        "for hybrid quantum/classical Newton solves.")
    parser.add_argument("--version", action="version", version=f"qlsa-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    parser.commands = {name: _command(name).add_parser(sub) for name in COMMANDS}
    return parser


def _setup_logging(args: argparse.Namespace) -> tuple[Path, str] | None:
    """Logging of a command with the verbosity options (``commands/options.add_quiet``; ``core/logs.py``): the log
    file is ``--log-file``, else ``qlsa-sim.log`` beside an explicit ``--out`` (in it if it is a folder), opened
    when the command has succeeded (records are buffered until then, so a refused command writes nothing), else
    the one the command opens beside its outputs. Returns where to open it after success, or None."""
    import logging

    from qlsa_sim.core.logs import setup_logging

    verbosity = -1 if getattr(args, "quiet", False) else int(getattr(args, "verbose", 0) or 0)
    setup_logging(verbosity, getattr(args, "log_file", None))
    if verbosity > 1:
        logging.basicConfig(level=logging.DEBUG)  # -vv: other libraries' messages too
    out = getattr(args, "out", None)
    if out and hasattr(args, "verbose") and not getattr(args, "log_file", None):
        out = Path(out)
        return (out.parent, f"{out.stem}.log") if out.suffix else (out, "qlsa-sim.log")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    from qlsa_sim.core.threads import default_single_thread_env

    default_single_thread_env()
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(list(argv) if argv is not None else None)
        if extra:  # said by the subcommand's parser, so the line names the command
            parser.commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as e:  # --help, --version, or a refused argument (one line already printed; status 2)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    from qlsa_sim.core.logs import close_logging
    from qlsa_sim.errors import QlsaSimError

    beside = _setup_logging(args)
    try:
        rc = int(_command(args.command).run(args) or 0)
        if rc == 0 and beside is not None and beside[0].is_dir():
            from qlsa_sim.core.logs import log_beside

            log_beside(*beside)
        return rc
    except QlsaSimError as e:
        msg = " ".join(str(e).splitlines())  # one line, whatever the message holds
        print(f"qlsa-sim {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qlsa-sim {args.command}: interrupted; everything already written is kept (continue recordings and "
              "runs with --resume)", file=sys.stderr)
        return 130
    finally:
        close_logging()


if __name__ == "__main__":
    sys.exit(main())
