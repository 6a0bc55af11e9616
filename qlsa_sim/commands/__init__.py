"""The ``qlsa-sim`` subcommands, one module each: ``add_parser(subparsers)`` and ``run(args) -> int``.

Command modules import only argparse (and this package's ``options``) at module level, so ``qlsa-sim
--help`` answers without loading numpy, torch or qiskit; each ``run`` imports what it needs. ``COMMANDS``
lists them in the order ``--help`` shows them.
"""

COMMANDS = ("demo", "record", "calibrate", "replay", "evolution", "sweep", "estimate", "validate",
            "breakeven", "reproduce", "train")
