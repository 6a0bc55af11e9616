"""Experiments: task specs, the baselines runner, sweeps, evolution, crossover grids, replay outputs, the demo and
``reproduce``; they compose the layers below and hand rows to ``report/`` to draw and write."""
