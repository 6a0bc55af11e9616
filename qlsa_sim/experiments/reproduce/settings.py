"""Settings of ``qlsa-sim reproduce``: the workloads and sweeps of each scale, and what a call runs and writes.

Scales (``ReproduceConfig.scale``): ``smoke`` (digits 4x4, a one-layer GPT, a few steps: the test suite),
``default`` (Fashion-MNIST pooled to 14x14, MLP 196-16-10, a 2-layer width-16 GPT), ``paper`` (Fashion-MNIST
28x28, MLP 784-16-10 whose first block has n = 12560; GPT with 4 layers, 4 heads, width 64: hours).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qlsa_sim.errors import InputError, UnknownNameError

SCALES = ("smoke", "default", "paper")
TASKS = ("dnn", "gpt")
TASK_TITLES = {"dnn": "DNN", "gpt": "GPT"}
#: Table 1 rows: run label -> what it is.
#: The QLSA is priced by the resource model (counted gates of the cheapest block encoding x gate time) unless a
#: row says paper Eq. 4 (the paper's own model, fitted to the resource model at the workload's block sizes).
TABLE1_ROWS = (
    ("sgd", "SGD"),
    ("newton-lu", "Newton, classical-only (dense LU; the paper's baseline)"),
    ("newton-best-classical", "Newton, classical-only (best classical solver)"),
    ("newton-quantum", "Newton, quantum-only (QLSA, resource model)"),
    ("q-newton-vs-lu", "Q-Newton hybrid, the paper's (QLSA by paper Eq. 4 vs dense LU)"),
    ("q-newton-eq4", "Q-Newton hybrid (QLSA by paper Eq. 4 vs best classical)"),
    ("q-newton", "Q-Newton hybrid (QLSA, resource model, vs best classical)"),
    ("q-newton-readout", "Q-Newton hybrid, readout included (resource model + tomography vs best classical)"),
)
FIGURES = ("fig2b_accuracy_vs_pruning", "fig2c_per_step_cost", "fig2d_regularization", "fig2e_convergence",
           "fig2f_quantum_runtime_vs_kappa", "fig2g_pruning_strategies", "fig3_p_sparsity")
VERDICTS = ("holds", "partly", "does not hold")
#: Table 1 seeds of each scale: at least 5 at the default scale (the verdicts read 95% intervals over them).
SCALE_SEEDS = {"smoke": (0, 1), "default": (0, 1, 2, 3, 4), "paper": (0, 1, 2)}
#: The paper's headline: training time cut by up to 90%, i.e. a speedup of up to 10x.
PAPER_SPEEDUP = 10.0
P_VALUES = (50, 90)


@dataclass(frozen=True)
class DNNSettings:
    """The MLP-on-images workload (paper: 784-16-10 on 28x28 images) and its sweeps.

    ``final_window``: the "final accuracy" of a fixed-length sweep run is the mean held-out
    accuracy of its last ``final_window`` evaluations (single-batch Newton steps are noisy).
    ``curvature``/``storage``: the blocks' kind and storage (exact = GGN for the ReLU MLP; "factor" keeps
    H = M M^T / B, which Woodbury and the factor-form block encoding use).
    """

    dataset: str = "fashion-mnist"
    image_size: int | None = 14
    sizes: tuple[int, ...] = (784, 16, 10)
    batch_size: int = 256
    data_dir: str | None = None
    reg_eps: float = 0.1
    newton_lr: float = 1.0
    line_search: bool = True
    curvature_batch: int | None = None
    curvature: str = "exact"
    storage: str = "dense"
    sgd_lr: float = 0.2
    sgd_momentum: float = 0.9
    target_accuracy: float = 0.75
    newton_max_steps: int = 60
    sgd_max_steps: int = 800
    sweep_steps: int = 30
    prune_densities: tuple[float, ...] = (0.3, 0.1, 0.03)
    reg_eps_grid: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
    strategy_densities: tuple[float, ...] = (0.3, 0.1)
    direction_densities: tuple[float, ...] = (0.5, 0.3, 0.1, 0.03)
    trace_every: int = 10
    final_window: int = 5


@dataclass(frozen=True)
class GPTSettings:
    """The GPT-style causal LM on the bundled corpus (paper: 4 layers, 4 heads, width 64).

    Exact transformer blocks cost one Hessian-vector product per coordinate, so Newton covers
    the blocks of ``kinds`` (and ``layers``) only; the other parameters take the step
    ``-uncovered_scale * g``. Exact Hessians are indefinite: line search and a larger eps.
    """

    n_layers: int = 2
    n_heads: int = 2
    width: int = 16
    mlp_width: int = 64
    context: int = 16
    batch_size: int = 8
    curvature_batch: int | None = 2
    partition: str = "per-projection"
    layers: tuple[int, ...] | None = None
    kinds: tuple[str, ...] | None = ("v", "fc1")
    corpus_dir: str | None = None
    reg_eps: float = 0.1
    newton_lr: float = 1.0
    line_search: bool = True
    uncovered_scale: float = 0.5
    sgd_lr: float = 0.5
    sgd_momentum: float = 0.9
    target_loss: float = 3.4
    newton_max_steps: int = 40
    sgd_max_steps: int = 400
    trace_every: int = 4


@dataclass(frozen=True)
class CalibrationSettings:
    """The quick calibration run when no profile is given (``cost/calibrate.py``)."""

    sizes: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048)
    repeats: int = 3
    quantum_n_max: int = 1 << 14
    small_quantum_grid: bool = False


def scale_settings(scale: str) -> tuple[DNNSettings, GPTSettings, CalibrationSettings]:
    """The workloads of a scale (see the module docstring)."""
    if scale == "default":
        return DNNSettings(), GPTSettings(), CalibrationSettings()
    if scale == "smoke":
        return (DNNSettings(dataset="digits", image_size=4, sizes=(16, 8, 10), batch_size=64, reg_eps=1e-2,
                            sgd_lr=0.5, sgd_momentum=0.5, target_accuracy=0.7, newton_max_steps=20,
                            sgd_max_steps=150, sweep_steps=6, prune_densities=(0.3, 0.1),
                            reg_eps_grid=(1e-3, 1e-2, 1e-1), strategy_densities=(0.3,),
                            direction_densities=(0.5, 0.2), trace_every=3, final_window=3),
                GPTSettings(n_layers=1, n_heads=1, width=8, mlp_width=16, context=8, batch_size=4, curvature_batch=1,
                            kinds=("v",), target_loss=5.0, newton_max_steps=4, sgd_max_steps=30, trace_every=2),
                CalibrationSettings(sizes=(32, 64, 128, 256), repeats=2, small_quantum_grid=True))
    if scale == "paper":
        return (DNNSettings(image_size=None, batch_size=128, target_accuracy=0.8, newton_max_steps=200,
                            sgd_max_steps=5000, sweep_steps=100, trace_every=25, curvature="ggn", storage="factor"),
                GPTSettings(n_layers=4, n_heads=4, width=64, mlp_width=256, context=64, batch_size=16,
                            curvature_batch=2, kinds=("q", "v"), target_loss=2.6, newton_max_steps=100,
                            sgd_max_steps=3000, trace_every=10),
                CalibrationSettings(sizes=(64, 128, 256, 512, 1024, 2048, 4096)))
    raise UnknownNameError("scale", scale, SCALES)


@dataclass(frozen=True)
class ReproduceConfig:
    """What ``reproduce`` runs and where it writes.

    ``scale``: "smoke" | "default" | "paper"; ``dnn``, ``gpt``, ``calibration_settings``: the
    scale's unless given. ``calibration``: a profile JSON to use; None = reuse
    ``<out_dir>/calibration.json`` if present (a resumed run must keep its profile), else
    calibrate here quickly and save it there. ``seeds``: Table 1 runs every seed (means with 95%
    intervals; None: the scale's, ``SCALE_SEEDS``); sweeps use the first. ``resume`` continues interrupted
    runs; ``overwrite`` redoes them. ``tasks``: the workloads of Table 1 (dnn, gpt); ``sweeps``: the DNN
    sweeps behind Figs. 2(b), 2(d), 2(g) and claims C4, C5 (off: those are not run, and say so).
    """

    scale: str = "default"
    out_dir: str = "analysis/reproduce"
    calibration: str | None = None
    resume: bool = False
    overwrite: bool = False
    seeds: tuple[int, ...] | None = None
    dnn: DNNSettings | None = None
    gpt: GPTSettings | None = None
    calibration_settings: CalibrationSettings | None = None
    threads: int = 1
    tasks: tuple[str, ...] = TASKS
    sweeps: bool = True

    def __post_init__(self) -> None:
        dnn, gpt, cal = scale_settings(self.scale)
        for name, value in (("dnn", dnn), ("gpt", gpt), ("calibration_settings", cal)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.seeds is None:
            object.__setattr__(self, "seeds", SCALE_SEEDS[self.scale])
        if not self.seeds:
            raise InputError("need at least one seed")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.resume and self.overwrite:
            raise InputError("choose resume or overwrite, not both")
        if self.threads < 1:
            raise InputError(f"threads must be >= 1, got {self.threads}")
        object.__setattr__(self, "tasks", tuple(self.tasks))
        for t in self.tasks:
            if t not in TASKS:
                raise UnknownNameError("task", t, TASKS)
        if not self.tasks:
            raise InputError("need at least one task (dnn, gpt)")
        if self.sweeps and "dnn" not in self.tasks:
            raise InputError("the sweeps (Figs. 2(b), 2(d), 2(g)) run the DNN task: add it, or turn the sweeps off")
        d = self.dnn
        for dens in (*d.prune_densities, *d.strategy_densities, *d.direction_densities):
            if not 0 < dens <= 1:
                raise InputError(f"densities must be in (0, 1], got {dens}")
        if d.reg_eps not in d.reg_eps_grid:
            raise InputError(f"the DNN's reg_eps {d.reg_eps:g} must be one of reg_eps_grid {d.reg_eps_grid}")
        if min(d.sweep_steps, d.newton_max_steps, d.final_window, d.trace_every) < 1:
            raise InputError("step counts, final_window and trace_every must be >= 1")


@dataclass(frozen=True)
class ReproduceOutputs:
    """Paths written by :func:`reproduce` and the wall time it took (MEASURED)."""

    out_dir: Path
    table1_csv: Path
    table1_md: Path
    solve_table_csv: Path
    solve_table_md: Path
    claims_csv: Path
    report_md: Path
    calibration: Path
    figures: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    data: Mapping[str, Path] = field(default_factory=dict)
    wall_seconds: float = 0.0

