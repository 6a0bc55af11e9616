"""Training tasks by specification: one :class:`TaskSpec` and one factory for every command and experiment.

``record``, ``train`` and ``reproduce`` describe their model and data with a TaskSpec; :func:`task_factory`
loads the data once and returns ``seed -> task`` (a fresh model initialised from the seed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qlsa_sim.data.images import load_image_dataset
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.models.mlp import MLPConfig
from qlsa_sim.models.transformer import TransformerConfig
from qlsa_sim.train.mlp_task import MLPTask
from qlsa_sim.train.task import TrainingTask
from qlsa_sim.train.text_tasks import make_text_task

MODELS = ("mlp", "bert", "gpt")


@dataclass(frozen=True)
class TaskSpec:
    """A model and its data. MLP: ``dataset`` (fashion-mnist | mnist | digits), ``image_size`` (average-pool
    images to this side; None: native), ``sizes`` (layer widths; the input width follows the data),
    ``mlp_partition``. Transformers (bert | gpt): ``data_dir`` (WikiText raw files; None: CPython's
    documentation text), the architecture, the block partition and a subset of blocks (``block_layers``,
    ``block_kinds``). ``batch_size`` None: 128 images or 16 sequences."""

    model: str = "mlp"
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    sizes: tuple[int, ...] = (784, 16, 10)
    image_size: int | None = None
    mlp_partition: str = "per-layer"
    batch_size: int | None = None
    n_layers: int = 4
    n_heads: int = 4
    width: int = 64
    mlp_width: int | None = None
    context: int = 64
    partition: str = "per-projection"
    block_layers: tuple[int, ...] | None = None
    block_kinds: tuple[str, ...] | None = None
    include_embeddings: bool = False
    memory_budget_gb: float = 8.0

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise UnknownNameError("model", self.model, MODELS)
        if self.batch_size is not None and self.batch_size < 1:
            raise InputError(f"batch size must be >= 1, got {self.batch_size}")
        if self.image_size is not None and self.image_size < 1:
            raise InputError(f"image size must be >= 1 pixel, got {self.image_size}")
        MLPConfig(tuple(self.sizes))  # validates the widths

    @property
    def name(self) -> str:
        """A short name: ``<model>-<dataset>`` (``<model>-text`` for transformers)."""
        return f"{self.model}-{self.dataset if self.model == 'mlp' else 'text'}"

    def transformer_config(self) -> TransformerConfig:
        return TransformerConfig(n_layers=self.n_layers, n_heads=self.n_heads, width=self.width,
                                 mlp_width=self.mlp_width or 4 * self.width, context=self.context)


def task_factory(spec: TaskSpec) -> Callable[[int], TrainingTask]:
    """``seed -> task`` for ``spec``, with the data loaded once (DataError if it is missing)."""
    if spec.model == "mlp":
        data = load_image_dataset(spec.dataset, data_dir=spec.data_dir, image_size=spec.image_size)
        return lambda seed: MLPTask(data, MLPConfig(tuple(spec.sizes)), batch_size=spec.batch_size or 128,
                                    seed=int(seed), partition=spec.mlp_partition)
    cfg = spec.transformer_config()

    def make(seed: int) -> TrainingTask:
        return make_text_task(spec.model, corpus_dir=spec.data_dir, config=cfg, batch_size=spec.batch_size or 16,
                              seed=int(seed), partition=spec.partition, include_embeddings=spec.include_embeddings,
                              layers=spec.block_layers, kinds=spec.block_kinds, memory_budget_gb=spec.memory_budget_gb)
    make(0)  # fail on a bad corpus or partition before any work
    return make


def make_task(spec: TaskSpec, seed: int = 0) -> TrainingTask:
    """The task of ``spec`` with the model initialised from ``seed``."""
    return task_factory(spec)(seed)
