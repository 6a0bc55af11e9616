"""quantum subpackage: QLSA cost estimation (``estimation/``) and circuits built and simulated (``circuits/``).

``estimation`` (no qiskit): query-count presets, hardware profiles, Qualtran counting bloqs, full-scale
resources and wall time. ``circuits`` (qiskit, qiskit-aer, pyqsp): block encodings, QSVT angles, circuit
construction, Aer simulation and the count-agreement check. Nothing is imported here, so importing a
sibling does not pay for Qualtran or qiskit.
"""
