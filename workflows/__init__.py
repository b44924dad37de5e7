"""One module per business process; deterministic orchestration only (no I/O, no clocks)."""
