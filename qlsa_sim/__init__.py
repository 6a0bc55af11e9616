"""qlsa-sim: quantum-resource simulation and cost modeling for hybrid Newton solves.

Data flow (one direction): data + model -> curvature blocks -> trace store -> matrix features
-> cost estimates -> schedule -> reports. See docs/architecture.md.
"""

__version__ = "0.1.0"
