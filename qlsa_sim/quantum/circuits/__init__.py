"""QLSA circuits built in qiskit and simulated on Aer at small n: block encodings, QSVT angles and circuits."""
