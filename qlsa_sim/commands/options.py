"""Options that several subcommands share, each defined once, and the typed objects they build.

Only argparse is imported at module level, so ``qlsa-sim --help`` stays fast; the builders import what
they build when called.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qlsa_sim.commands.argtypes import address, choice, integer, listed, memory_gb, ram_gb, seed

DEFAULT_CALIBRATION = str(Path("calibration") / "local.json")
EXECUTORS = ("inprocess", "process", "dask")
MODELS = ("mlp", "bert", "gpt")  # experiments/tasks.py MODELS
DATASETS = ("fashion-mnist", "mnist", "digits")  # data/images.py DATASET_NAMES


def number_list(cast):
    """argparse type: comma-separated numbers, e.g. '32,64,128' or '10,1e4'."""
    def parse(text: str) -> list:
        try:
            values = [cast(t) for t in text.split(",") if t.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {cast.__name__}s, got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError(f"expected at least one {cast.__name__}, got {text!r}")
        return values
    return parse


int_list, float_list = number_list(int), number_list(float)


def seeds(text: str) -> tuple[int, ...]:
    """argparse type: comma-separated seeds in [0, 2^32 - 1] (at least one, none twice)."""
    return tuple(listed(seed, unique=True)(text))


def names_list(text: str) -> tuple[str, ...]:
    """argparse type: comma-separated names (at least one)."""
    out = tuple(t.strip() for t in text.split(",") if t.strip())
    if not out:
        raise argparse.ArgumentTypeError("need at least one name")
    return out


def add_quiet(p: argparse.ArgumentParser) -> None:
    """The verbosity options of a long command (``core/logs.py``; the CLI sets logging up from them):
    ``-q/--quiet`` (warnings only, no progress bars; ``args.quiet``), ``-v/--verbose`` (debug messages; twice: also
    other libraries'), ``--log-file`` (default: ``qlsa-sim.log`` beside the command's outputs)."""
    g = p.add_argument_group("messages")
    g.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only, no progress bars")
    g.add_argument("-v", "--verbose", action="count", default=0, help="debug messages too (-vv: other libraries' too)")
    g.add_argument("--log-file", metavar="PATH",
                   help="write every message, with times, to PATH (default: qlsa-sim.log beside the outputs)")


def add_resume_options(p: argparse.ArgumentParser, resume_help: str, overwrite_help: str) -> None:
    """``--resume`` / ``--overwrite`` (one or neither): continue what an interrupted call left, or replace it."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help=resume_help)
    g.add_argument("--overwrite", action="store_true", help=overwrite_help)


def add_task_options(p: argparse.ArgumentParser) -> None:
    """The model, data and block options of ``record`` and ``train`` (see :func:`task_spec`)."""
    p.add_argument("--model", type=choice(*MODELS), default="mlp", help="mlp | bert | gpt (default mlp)")
    p.add_argument("--dataset", type=choice(*DATASETS), default="fashion-mnist",
                   help="fashion-mnist | mnist | digits (MLP)")
    p.add_argument("--data-dir", help="directory holding the data set's files (IDX for MNIST formats, "
                                      "wiki.*.raw for text)")
    p.add_argument("--sizes", default="784-16-10", help="MLP layer widths (the input width follows the data, "
                                                        "e.g. 196 for 14x14 images)")
    p.add_argument("--image-size", type=integer(1, 4096, "a side in pixels"),
                   help="average-pool images to this side (e.g. 14)")
    p.add_argument("--mlp-partition", default="per-layer", help="MLP blocks: per-layer | per-tensor")
    p.add_argument("--batch-size", type=integer(1, 1 << 20, "a batch size"), help="default 128 (MLP), 16 sequences (text)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--dtype", type=choice("float64", "float32"), default="float64",
                   help="storage dtype of blocks: float64 | float32")
    c = p.add_argument_group("curvature blocks")
    c.add_argument("--curvature", default="exact", help="exact | ggn | fisher (empirical Fisher)")
    c.add_argument("--storage", default="dense", help="dense | factor (GGN/Fisher blocks as M, H = M M^T / B)")
    c.add_argument("--hessian-method", default="auto",
                   help="auto (closed form where it is exact, else jacfwd(grad)) | hessian | hvp")
    c.add_argument("--memory-budget-gb", type=memory_gb, default=min(8.0, ram_gb()),
                   help="largest dense block, GB (default 8, at most this machine's RAM)")
    c.add_argument("--hvp-chunk", type=integer(1, 1 << 20), default=128, help="unit vectors per batched HVP (method hvp)")
    c.add_argument("--curvature-batch", type=integer(1, 1 << 20, "a sample count"),
                   help="compute blocks on the first k samples of the batch")
    t = p.add_argument_group("transformers (--model bert|gpt)")
    t.add_argument("--layers-count", type=integer(1, 256), default=4, help="transformer layers")
    t.add_argument("--heads", type=integer(1, 1024), default=4)
    t.add_argument("--width", type=integer(1, 1 << 16), default=64)
    t.add_argument("--context", type=integer(1, 1 << 16), default=64)
    t.add_argument("--partition", default="per-projection", help="per-projection | per-head | rows")
    t.add_argument("--block-layers", type=listed(integer(0, 255, "a layer index"), unique=True),
                   help="record blocks of these layers only, e.g. 0,3")
    t.add_argument("--block-kinds", type=names_list, help="record these block kinds only, e.g. q,k,v,o,fc1,fc2,aux")
    t.add_argument("--include-embeddings", action="store_true")


def task_spec(args: argparse.Namespace):
    """The :class:`~qlsa_sim.experiments.tasks.TaskSpec` of :func:`add_task_options`."""
    from qlsa_sim.experiments.tasks import TaskSpec
    from qlsa_sim.models.mlp import parse_sizes

    return TaskSpec(model=args.model, dataset=args.dataset, data_dir=args.data_dir, sizes=parse_sizes(args.sizes).sizes,
                    image_size=args.image_size, mlp_partition=args.mlp_partition, batch_size=args.batch_size,
                    n_layers=args.layers_count, n_heads=args.heads, width=args.width, context=args.context,
                    partition=args.partition, block_layers=tuple(args.block_layers) if args.block_layers else None,
                    block_kinds=args.block_kinds, include_embeddings=args.include_embeddings,
                    memory_budget_gb=args.memory_budget_gb)


def curvature_config(args: argparse.Namespace):
    """The :class:`~qlsa_sim.curvature.compute.CurvatureConfig` of :func:`add_task_options`."""
    from qlsa_sim.curvature.compute import CurvatureConfig

    return CurvatureConfig(kind=args.curvature, storage=args.storage, method=args.hessian_method,
                           hvp_chunk=args.hvp_chunk, memory_budget_gb=args.memory_budget_gb, batch=args.curvature_batch)


def add_parallel_options(p: argparse.ArgumentParser, *, strict: bool = True) -> None:
    """--executor, --workers, --scheduler-address (and --strict) of replay, evolution and sweep."""
    g = p.add_argument_group("parallel execution")
    g.add_argument("--executor", choices=EXECUTORS, default="inprocess",
                   help="inprocess (default) | process (local process pool) | dask (needs pip install .[distributed])")
    g.add_argument("--workers", type=integer(1, 4096, "a worker count"), default=None,
                   help="process pool size, or the size of a Dask LocalCluster started for you (default: CPUs)")
    g.add_argument("--scheduler-address", type=address, default=None, metavar="tcp://HOST:PORT",
                   help="use a running Dask scheduler (implies --executor dask)")
    if strict:
        g.add_argument("--strict", action="store_true", help="stop at the first bad snapshot instead of skipping it")


def parallel_options(args: argparse.Namespace) -> dict:
    """Executor keyword arguments (``core/executors.run_tasks``) of :func:`add_parallel_options`."""
    return {"executor": "dask" if args.scheduler_address else args.executor, "workers": args.workers,
            "scheduler_address": args.scheduler_address}
