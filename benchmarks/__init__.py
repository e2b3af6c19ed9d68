"""Benchmarks of jepa-serve: each study compares two ways of doing one job, side by side in one run.

`python -m benchmarks run [STUDY ...]` (or `make bench`) writes
`benchmarks/results/<study>.json` and a plot per study, then regenerates its section of
`benchmarks/RESULTS.md` from the JSON. Absolute numbers on a shared machine are noise; the
ratios measured in one run are the claims.
"""
