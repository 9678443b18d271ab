"""The throughput benchmark of drrdn_tf and its report (not installed; run from the repository root).

  python -m benchmarks.bench --json > benchmarks/run1.json     # measure (benchmarks/bench.py)
  python benchmarks/report.py benchmarks/run*.json > BENCHMARKS.md

Modules: `bench` (flags, the run, output), `harness` (timing), `jobs` (what is timed), `flops` (the FLOP
model), `figures` (ratios and targets), `tables` (the readable table), `opprofile` (a call's time by op kind),
`report` (BENCHMARKS.md).
"""

# Importing drrdn_tf during `python -m benchmarks.<name>` starts TensorFlow quietly (drrdn_tf/__init__.py does
# it for every `python -m` launch), as the package's own command lines do.
import drrdn_tf  # noqa: E402,F401
