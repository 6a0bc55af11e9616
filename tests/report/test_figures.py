"""Every figure of ``qlsa_sim/report`` meets plain publication practice (``figure_checks.py``): each plot function
is rendered on small synthetic rows and checked. A new plot function must be added to ``CASES`` (checked)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from figure_checks import capture_figures, close_all, figure_problems, figure_text

import qlsa_sim.report
from qlsa_sim.report import paper_figures as pf
from qlsa_sim.report.breakeven import plot_break_even_maps
from qlsa_sim.report.crossover import BREAK_EVEN_LABEL, plot_crossover
from qlsa_sim.report.evolution import plot_evolution
from qlsa_sim.report.figures import DPI, caption_path, read_caption, save_figure

STEPS = (1, 2, 3)  # a short step range: a default locator would tick at halves


def crossover_case(out: Path) -> list[Path]:
    kappas, dens = np.geomspace(1, 1e8, 12), np.geomspace(1e-4, 1, 10)
    k, d = np.meshgrid(np.log10(kappas), np.log10(dens))
    maps = [(16, [("lu", k + d - 3), ("best classical", k + d - 4)]),  # 2 rivals: the third panel is removed
            (64, [("cholesky", k + d - 5), ("cg", -np.ones_like(k)), ("best classical", k + d - 6)])]
    points = pd.DataFrame({"n": [16, 16, 16, 64, 64, 64], "kappa": [10, 100, 1e3, 30, 300, 3e3],
                           "density": [0.5, 0.4, 0.3, 0.2, 0.1, 0.05], "step": [*STEPS, *STEPS]})
    return plot_crossover(maps, kappas, dens, points, out / "crossover", title="Crossover map (modeled): synthetic",
                          caption="A synthetic map.")


def break_even_case(out: Path) -> list[Path]:
    ns, ks, ds = np.geomspace(16, 4096, 6), np.geomspace(1, 1e6, 5), np.geomspace(1e-3, 1, 5)
    n_kappa = pd.DataFrame([{"n": n, "kappa": k, "max_gate_time_s": 1e-12 * n / k ** 0.5} for n in ns for k in ks])
    n_density = pd.DataFrame([{"n": n, "density": d, "max_gate_time_s": 1e-12 * n / d} for n in ns for d in ds])
    blocks = pd.DataFrame({"n": [64, 256], "kappa": [10.0, 1e3], "density": [0.5, 0.1],
                           "max_gate_time_s": [1e-10, 1e-9]})
    return plot_break_even_maps({"n_kappa": n_kappa, "n_density": n_density}, blocks, out / "maps", title="Break-even")


def evolution_case(out: Path) -> list[Path]:
    rows = [{"run": run, "block": b, "step": s, "kappa": 10.0 ** (s + i), "density": 0.5 / s, "p90_fraction": 0.3 / s}
            for i, run in enumerate(("mlp", "gpt")) for b in ("layer:0", "layer:1") for s in STEPS]
    return plot_evolution(pd.DataFrame(rows), out / "evolution")


def accuracy_vs_pruning_case(out: Path) -> list[Path]:
    df = pd.DataFrame({"target_density": [0.1, 0.3, 1.0], "achieved_density": [0.12, 0.3, 1.0],
                       "final_accuracy": [0.7, 0.8, 0.82], "quantum_modeled_s_per_step": [1e-6, 3e-6, 1e-5]})
    return pf.plot_accuracy_vs_pruning(df, out / "fig2b", reference_accuracy=0.83, reference_quantum_s=2e-5,
                                       note="a note")


def per_step_cost_case(out: Path) -> list[Path]:
    rows = []
    for task in ("DNN", "GPT"):
        for s in STEPS:
            q = 1e-6 * s
            rows.append({"task": task, "step": s, "quantum_modeled_s": q, "lu_modeled_s": 1e-3,
                         "best_classical_modeled_s": 5e-4, "hybrid_modeled_s": q, "quantum_fraction": 1.0,
                         "measured_classical_s": 4e-4, "readout_quantum_modeled_s": 10 * q})
    return pf.plot_per_step_cost(pd.DataFrame(rows), out / "fig2c", note="a note")


def regularization_case(out: Path) -> list[Path]:
    df = pd.DataFrame({"reg_eps": [1e-4, 1e-3, 1e-2], "final_accuracy": [0.8, 0.81, 0.79],
                       "kappa_median": [1e4, 1e3, 1e2], "kappa_max": [1e5, 1e4, 1e3],
                       "quantum_modeled_s_per_step": [1e-3, 1e-4, 1e-5]})
    return pf.plot_regularization(df, out / "fig2d", note="a note")


def convergence_case(out: Path) -> list[Path]:
    rows = [{"task": task, "label": label, "step": s, "seconds": s * (i + 1.0), "test_loss": 2.0 / s,
             "test_accuracy": 0.5 + 0.1 * s} for task in ("DNN", "GPT") for i, label in enumerate(("sgd", "q-newton"))
            for s in STEPS]
    return pf.plot_convergence(pd.DataFrame(rows), out / "fig2e", targets={"DNN": ("test_accuracy", 0.7)}, note="n")


def quantum_vs_kappa_case(out: Path) -> list[Path]:
    kappas = np.geomspace(1, 1e6, 8)
    rows = [{"panel": panel, "kind": kind, "label": label, "kappa": k, "seconds": f(k)}
            for panel in ("paper Eq. 4", "resource model") for k in kappas
            for kind, label, f in (("quantum", "QLSA d = 0.1", lambda k: 1e-9 * k), ("quantum", "QLSA d = 1",
                                   lambda k: 1e-8 * k), ("classical", "dense LU", lambda k: 1e-3))]
    points = pd.DataFrame({"panel": ["paper Eq. 4"] * 2, "kappa": [10.0, 100.0], "seconds": [1e-8, 1e-7]})
    return pf.plot_quantum_vs_kappa(pd.DataFrame(rows), out / "fig2f", n=64, points=points, note="a note")


def pruning_strategies_case(out: Path) -> list[Path]:
    strategies, dens = ("symmetric-magnitude", "random", "rowwise-topk"), (0.1, 0.3)
    train = pd.DataFrame([{"strategy": s, "target_density": d, "final_accuracy": 0.7 + d} for s in strategies
                          for d in dens])
    direction = pd.DataFrame([{"strategy": s, "target_density": d, "error": 0.1 / d, "block": "b", "step": 1}
                              for s in strategies for d in dens])
    return pf.plot_pruning_strategies(train, direction, out / "fig2g", reference_accuracy=0.8, note="a note")


def p_sparsity_case(out: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    df = pd.DataFrame([{"task": task, "step": s, "p": p, "fraction": f} for task in ("DNN", "GPT") for s in (0, 200)
                       for p in (90.0, 99.0) for f in rng.uniform(0, 1, 20)])
    return pf.plot_p_sparsity(df, out / "fig3", note="a note")


#: plot function name -> (render it on synthetic rows, whether it compares the QLSA with classical solvers)
CASES: dict[str, tuple[Callable[[Path], list[Path]], bool]] = {
    "plot_crossover": (crossover_case, True),
    "plot_break_even_maps": (break_even_case, True),
    "plot_evolution": (evolution_case, False),
    "plot_accuracy_vs_pruning": (accuracy_vs_pruning_case, False),
    "plot_per_step_cost": (per_step_cost_case, True),
    "plot_regularization": (regularization_case, False),
    "plot_convergence": (convergence_case, False),
    "plot_quantum_vs_kappa": (quantum_vs_kappa_case, True),
    "plot_pruning_strategies": (pruning_strategies_case, False),
    "plot_p_sparsity": (p_sparsity_case, False),
}


def render(name: str, tmp_path: Path, monkeypatch):
    figs = capture_figures(monkeypatch)
    paths = CASES[name][0](tmp_path)
    assert len(figs) == 1
    return figs[0], paths


def test_every_plot_function_has_a_case():
    found = set()
    for mod in pkgutil.iter_modules(qlsa_sim.report.__path__):
        module = importlib.import_module(f"qlsa_sim.report.{mod.name}")
        found |= {n for n, f in inspect.getmembers(module, inspect.isfunction)
                  if n.startswith("plot_") and f.__module__ == module.__name__}
    assert found == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_meets_publication_practice(name, tmp_path, monkeypatch):
    fig, paths = render(name, tmp_path, monkeypatch)
    try:
        assert figure_problems(fig, paths, sides=CASES[name][1]) == []
        assert {p.suffix for p in paths} >= {".png", ".svg"}
    finally:
        close_all([fig])


def test_crossover_names_sides_and_draws_every_block(tmp_path, monkeypatch):
    from matplotlib.collections import PathCollection

    fig, paths = render("plot_crossover", tmp_path, monkeypatch)
    try:
        text = figure_text(fig)
        assert "blue = QLSA cheaper, red = classical cheaper" in text and BREAK_EVEN_LABEL in text
        assert "QLSA cheaper" in text and "classical cheaper" in text and "QLSA cheaper everywhere" in text
        assert any(ax.get_ylabel().startswith("training step") for ax in fig.axes)  # a real step colour bar
        panels = [ax for ax in fig.axes if ax.get_title()]
        assert len(panels) == 5  # 2 + 3 rivals, no empty sixth panel
        for ax in panels:  # every block of the row's size, at its own kappa and density
            n = int(ax.get_title().split()[2].rstrip(":"))
            marks = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
            assert marks.shape[0] == 3 and (n == 16) == (marks[0, 0] == 10)
        assert read_caption(paths) == "A synthetic map."
    finally:
        close_all([fig])


def test_qlsa_line_visible_over_q_newton_line(tmp_path, monkeypatch):
    fig, _ = render("plot_per_step_cost", tmp_path, monkeypatch)  # the QLSA takes every block: equal series
    try:
        ax = fig.axes[0]
        line = {ln.get_label().split(" [")[0]: ln for ln in ax.lines}
        q, h = line["QLSA"], line["Q-Newton's choice"]
        np.testing.assert_array_equal(q.get_ydata(), h.get_ydata())
        assert q.get_zorder() > h.get_zorder() and q.get_zorder() > max(c.get_zorder() for c in ax.collections)
        assert q.get_linestyle() != h.get_linestyle() and q.get_marker() not in (None, "None", "")
    finally:
        close_all([fig])


def test_save_figure_writes_png_svg_and_caption(tmp_path):
    import matplotlib.pyplot as plt

    assert DPI >= 200
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    paths = save_figure(fig, tmp_path / "a.b", caption="Caveats here.\n")
    assert [p.name for p in paths] == ["a.b.png", "a.b.svg", "a.b.caption.md"]
    assert caption_path(tmp_path / "a.b").read_text() == "Caveats here.\n" and read_caption(paths) == "Caveats here."
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    assert len(save_figure(fig, tmp_path / "c")) == 2 and read_caption([tmp_path / "c.png"]) == ""


def test_a_figure_saved_again_has_the_same_bytes(tmp_path):
    """A regenerated report changes only where its content does: no date in the SVG, ids from a fixed salt."""
    import matplotlib.pyplot as plt

    def draw(stem):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 3], label="x")
        ax.fill_between([0, 1], [0, 1], alpha=0.3)
        ax.legend()
        return save_figure(fig, tmp_path / stem)

    for a, b in zip(draw("one"), draw("two")):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert b"<dc:date>" not in (tmp_path / "one.svg").read_bytes()


def test_the_checker_catches_each_fault(tmp_path):
    import matplotlib.pyplot as plt

    fig, (ax, empty) = plt.subplots(1, 2, constrained_layout=True)
    ax.plot([1, 2, 3], [1, 2, 3], label="data")
    ax.set(xlabel="training step", title="a title\nwith a caveat")
    ax.legend(loc="center")
    png = tmp_path / "bad.png"
    fig.savefig(png, dpi=100)
    try:
        problems = " | ".join(figure_problems(fig, [png], sides=True))
        for fault in ("dpi", "multi-line axes title", "empty axes", "step axis", "legend", "quantum side",
                      "classical side"):
            assert fault in problems, fault
    finally:
        close_all([fig])
