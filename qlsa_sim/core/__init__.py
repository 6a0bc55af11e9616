"""Ground floor shared by every layer: crash-safe writes with one JSON rule, executors, thread pinning, names."""
