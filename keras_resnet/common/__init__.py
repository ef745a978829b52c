"""The floor the apps share (trainer, exporter, benchmarks, experiments): atomic file writes,
flagfile reading and the CPU-kernel switch. It imports only the model library below it."""
