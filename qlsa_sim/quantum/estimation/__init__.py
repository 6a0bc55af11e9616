"""QLSA cost estimation without building circuits (MODELED): presets, hardware, counting bloqs, resources, time."""
