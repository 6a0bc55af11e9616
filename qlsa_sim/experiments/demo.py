"""The demo: record a trace of the MLP on the default data, calibrate this machine, replay the trace with paper
Eq. 4 and with the resource estimator, and write both reports (what ``make demo`` runs)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from qlsa_sim.core.outputs import output_set
from qlsa_sim.cost.calibrate import calibrate, refit_eq4
from qlsa_sim.cost.profile import load_profile, save_profile
from qlsa_sim.curvature.compute import CurvatureConfig
from qlsa_sim.experiments.replay_outputs import ReplayOutputs, write_replay_report
from qlsa_sim.experiments.tasks import TaskSpec, make_task
from qlsa_sim.linalg.features import FeatureConfig
from qlsa_sim.schedule.pipeline import SchedulePolicy
from qlsa_sim.schedule.replay import ReplayConfig, replay, write_features_to_manifest
from qlsa_sim.traces.store import TraceReader
from qlsa_sim.train.record import RecordConfig, record_trace

#: The sizes ``qlsa-sim calibrate`` times by default.
CALIBRATION_SIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096)


@dataclass(frozen=True)
class DemoOutputs:
    """What the demo wrote, and its wall time (MEASURED)."""

    trace: Path
    calibration: Path
    eq4: ReplayOutputs
    resources: ReplayOutputs
    architecture: str
    seconds: float


def run_demo(root: str | Path = ".", *, dataset: str = "fashion-mnist", data_dir: str | None = None,
             image_size: int = 14, steps: int = 300, every: int = 50, progress: bool = True,
             calibration_sizes: tuple[int, ...] = CALIBRATION_SIZES, say=print) -> DemoOutputs:
    """Record -> calibrate -> replay (Eq. 4, then the resource estimator) under ``root``; ``say`` reports each stage."""
    root, t0 = Path(root), time.perf_counter()
    run = f"demo-{dataset}-{image_size}x{image_size}"
    trace, calib, out = root / "hessian_traces" / run, root / "calibration" / "demo.json", root / "analysis" / run
    task = make_task(TaskSpec(model="mlp", dataset=dataset, data_dir=data_dir, image_size=image_size))
    arch = "-".join(str(s) for s in task.info.config["sizes"])
    say(f"[1/4] recording MLP {arch} on {task.info.dataset}: {steps} SGD steps, a snapshot every {every} -> {trace}")
    record_trace(task, trace, RecordConfig(steps=steps, every=every, curvature=CurvatureConfig(), dtype="float32"),
                 overwrite=True, progress=progress)
    say(f"[2/4] calibrating this machine (timed Cholesky, LU, CG, Woodbury solves; Eq. 4 fit) -> {calib}")
    profile = load_profile(save_profile(calibrate(progress=progress, sizes=calibration_sizes), calib))
    reader = TraceReader(trace)
    features = FeatureConfig(psd=reader.meta.psd)
    outs = {}
    for i, model in enumerate(("eq4", "resources")):
        dest = out if model == "eq4" else Path(f"{out}-resources")
        say(f"[{3 + i}/4] replaying the trace with the QLSA priced by "
            f"{'paper Eq. 4 (fitted)' if model == 'eq4' else 'the resource estimator'} -> {dest}")
        sizes = sorted({int(r["n"]) for r in reader.rows})
        prof = refit_eq4(profile, sizes, progress=progress) if model == "eq4" else profile
        df = replay(trace, prof, ReplayConfig(SchedulePolicy(features, model), measure_classical=model == "eq4"),
                    progress=progress)
        if model == "eq4":
            write_features_to_manifest(trace, df)
        with output_set(dest, "replay") as staged:  # the report's files as one set (core/outputs.py)
            outs[model] = staged.final(write_replay_report(df, prof, staged.path, quantum_model=model,
                                                           trace_label=f"{run} ({dataset})", progress=progress))
    return DemoOutputs(trace, calib, outs["eq4"], outs["resources"], arch, time.perf_counter() - t0)
