"""The runs of ``qlsa-sim reproduce``: tasks, optimizer specs, the calibration profile, and the Table 1 and
sweep runs (each resumable: ``experiments/baselines.py`` keeps them under ``<out>/runs/``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qlsa_sim.core.threads import pinned_threads
from qlsa_sim.cost.calibrate import calibrate, default_quantum_grid, refit_eq4
from qlsa_sim.cost.profile import CalibrationProfile, load_profile, save_profile
from qlsa_sim.curvature.compute import CurvatureConfig
from qlsa_sim.experiments.baselines import BaselineReport, MethodSpec, RunResult, run_baselines
from qlsa_sim.experiments.reproduce.settings import CalibrationSettings, DNNSettings, GPTSettings, ReproduceConfig
from qlsa_sim.experiments.tasks import TaskSpec, task_factory
from qlsa_sim.linalg.conditioning import STRATEGIES
from qlsa_sim.linalg.features import FeatureConfig
from qlsa_sim.train.hybrid_newton import HybridNewton, HybridNewtonConfig


# ------------------------------------------------------------------------------------------ tasks
def dnn_task_spec(s: DNNSettings) -> TaskSpec:
    """The MLP-on-images task of the settings (the input width follows the data)."""
    return TaskSpec(model="mlp", dataset=s.dataset, data_dir=s.data_dir, sizes=tuple(s.sizes), image_size=s.image_size,
                    batch_size=s.batch_size)


def gpt_task_spec(s: GPTSettings) -> TaskSpec:
    """The GPT-style causal LM of the settings on the bundled corpus (or ``corpus_dir``)."""
    return TaskSpec(model="gpt", data_dir=s.corpus_dir, n_layers=s.n_layers, n_heads=s.n_heads, width=s.width,
                    mlp_width=s.mlp_width, context=s.context, batch_size=s.batch_size, partition=s.partition,
                    block_layers=s.layers, block_kinds=s.kinds)


def dnn_newton_config(s: DNNSettings) -> HybridNewtonConfig:
    """HybridNewton for the ReLU MLP: PSD per-layer blocks (exact = GGN), kappa exact up to
    n = 1024 and by Lanczos above (``linalg/features.py``)."""
    return HybridNewtonConfig(lr=s.newton_lr, features=FeatureConfig(reg_eps=s.reg_eps, kappa_method="auto", psd=True),
                              line_search=s.line_search,
                              curvature=CurvatureConfig(kind=s.curvature, storage=s.storage, batch=s.curvature_batch),
                              trace_every=s.trace_every)


def gpt_newton_config(s: GPTSettings) -> HybridNewtonConfig:
    """HybridNewton for the transformer: exact (indefinite) blocks, line search, SGD elsewhere."""
    return HybridNewtonConfig(lr=s.newton_lr, features=FeatureConfig(reg_eps=s.reg_eps, kappa_method="auto", psd=False),
                              line_search=s.line_search, curvature=CurvatureConfig(batch=s.curvature_batch),
                              uncovered_scale=s.uncovered_scale, trace_every=s.trace_every)


def table1_specs(cfg: HybridNewtonConfig, lr: float, sgd_lr: float, momentum: float, trace_label: str | None
                 ) -> tuple[MethodSpec, list[MethodSpec], MethodSpec]:
    """(SGD, Newton specs with the main profile, the readout spec) of Table 1 (``settings.TABLE1_ROWS``): the
    QLSA by the resource model, except the paper's scheduler and its Eq. 4 variant."""
    eq4, res = replace(cfg, quantum_model="eq4"), replace(cfg, quantum_model="resources")

    def spec(method, label, newton):
        return MethodSpec(method, lr, label=label, newton=newton, write_trace=label == trace_label)

    newton = [spec("newton-classical", "newton-lu", replace(eq4, classical_solvers=("lu",))),
              spec("newton-classical", "newton-best-classical", eq4), spec("newton-quantum", "newton-quantum", res),
              spec("hybrid", "q-newton-vs-lu", replace(eq4, classical_solvers=("lu",))),
              spec("hybrid", "q-newton-eq4", eq4), spec("hybrid", "q-newton", res)]
    readout = spec("hybrid", "q-newton-readout", res)
    return MethodSpec("sgd", sgd_lr, momentum=momentum), newton, readout


def label_density(strategy: str, d: float) -> str:
    return f"prune-{strategy}-{d:g}"


def label_eps(eps: float) -> str:
    return f"eps-{eps:g}"


def dnn_sweep_specs(s: DNNSettings, cfg: HybridNewtonConfig) -> list[MethodSpec]:
    """Fixed-length hybrid runs: the unpruned reference (traced), pruning densities and strategies
    (Fig. 2(b), 2(g)) and the regularization grid (Fig. 2(d))."""
    specs = [MethodSpec("hybrid", s.newton_lr, label="reference", newton=cfg, write_trace=True)]
    pairs = [("symmetric-magnitude", d) for d in s.prune_densities]
    pairs += [(st, d) for st in STRATEGIES for d in s.strategy_densities]
    for st, d in dict.fromkeys(pairs):
        f = replace(cfg.features, prune_density=float(d), prune_strategy=st)
        specs.append(MethodSpec("hybrid", s.newton_lr, label=label_density(st, d), newton=replace(cfg, features=f),
                                write_trace=False))
    for eps in s.reg_eps_grid:
        if eps != s.reg_eps:
            specs.append(MethodSpec("hybrid", s.newton_lr, label=label_eps(eps),
                                    newton=replace(cfg, features=replace(cfg.features, reg_eps=float(eps))),
                                    write_trace=False))
    return specs



# ---------------------------------------------------------------------------------- calibration
def _quick_grid(c: CalibrationSettings) -> list[tuple[int, float, float]]:
    if not c.small_quantum_grid:
        return default_quantum_grid(c.quantum_n_max)
    return [(n, k, d) for n in (16, 256, 4096) for k in (2.0, 1e2, 1e4) for d in (0.1, 1.0)]


def workload_block_sizes(config: ReproduceConfig) -> tuple[int, ...]:
    """The block sizes n of both workloads (what Eq. 4 is fitted at)."""
    sizes = {b.n for spec in (dnn_task_spec(config.dnn), gpt_task_spec(config.gpt))
             for b in task_factory(spec)(config.seeds[0]).blocks()}
    return tuple(sorted(sizes))


def obtain_profile(config: ReproduceConfig, out_dir: Path, progress: bool) -> tuple[CalibrationProfile, Path, str]:
    """(profile, its path, how it was obtained); see :class:`ReproduceConfig` ``calibration``. Paper Eq. 4 is
    then refitted to the resource model at the workloads' block sizes (``cost.calibrate.refit_eq4``)."""
    sizes = workload_block_sizes(config)
    if config.calibration is not None:
        path = Path(config.calibration)
        prof, how = load_profile(path), f"loaded from {path}"
    elif (out_dir / "calibration.json").is_file() and not config.overwrite:
        path = out_dir / "calibration.json"
        prof, how = load_profile(path), f"reused {path} (calibrated here by an earlier reproduce run)"
    else:
        path, c = out_dir / "calibration.json", config.calibration_settings
        prof = load_profile(save_profile(calibrate(sizes=c.sizes, repeats=c.repeats, threads=config.threads,
                                                   progress=progress, quantum_grid=_quick_grid(c)), path))
        how = (f"calibrated here (dense sizes {', '.join(map(str, c.sizes))}, {c.repeats} repeats, 1 BLAS thread) "
               f"and saved to {path}")
    return refit_eq4(prof, sizes), path, how + f"; Eq. 4 refitted at the workloads' block sizes {list(sizes)}"



# ------------------------------------------------------------------------------------------ runs
def group_results(report: BaselineReport) -> dict[str, list[RunResult]]:
    """Results by run label."""
    out: dict[str, list[RunResult]] = {}
    for r in report.results:
        out.setdefault(r.label, []).append(r)
    return out


def warm_up(make, cfg: HybridNewtonConfig, profile: CalibrationProfile, readout_profile: CalibrationProfile,
            seed: int, threads: int) -> None:
    """One untimed HybridNewton step per quantum model on a throw-away task, so that one-time
    initialisation (imports, torch.func tracing, the resource estimator's first counts) is not
    charged to whichever method happens to run first."""
    task = make(seed)
    batch = next(iter(task.batches()))
    with pinned_threads(threads):
        for prof, model in ((profile, "eq4"), (profile, "resources"), (readout_profile, "resources")):
            HybridNewton(task, prof, replace(cfg, seed=seed, quantum_model=model)).step(batch=batch)


def run_table1(task: str, make, sgd_spec, newton_specs, readout_spec, sgd_stop, newton_stop, profile,
                readout_profile, config: ReproduceConfig, runs_dir: Path, progress: bool) -> dict[str, list[RunResult]]:
    kw = {"seeds": config.seeds, "task_name": task, "out_dir": runs_dir, "resume": config.resume,
          "overwrite": config.overwrite, "threads": config.threads, "progress": progress}
    warm_up(make, newton_specs[0].newton, profile, readout_profile, config.seeds[0], config.threads)
    res = group_results(run_baselines(make, [sgd_spec], sgd_stop, None, **kw))
    res.update(group_results(run_baselines(make, newton_specs, newton_stop, profile, **kw)))
    res.update(group_results(run_baselines(make, [readout_spec], newton_stop, readout_profile, **kw)))
    return res

