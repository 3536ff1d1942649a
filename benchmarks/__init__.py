"""Speed benchmarks: ``python -m benchmarks.bc_speed`` (see benchmarks/README.md)."""
