#!/usr/bin/env bash
# One fresh run of every benchmark harness, written to benchmarks/results/ (the figures
# the README quotes). Takes about ten minutes on a 2-core machine; run it on a quiet one.
#     bash benchmarks/run_all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results
python -m benchmarks.compare --json "$out/compare.json" | tee "$out/compare.txt"
# Issue 10's absolute targets scaled by its reference commit, measured in the same run.
python -m benchmarks.calibrate --json "$out/calibrate.json" | tee "$out/calibrate.txt"
python -m benchmarks.sim --out "$out/sim.txt"
python -m benchmarks.analysis | tee "$out/analysis.txt"
python -m benchmarks.interval_backends | tee "$out/interval_backends.txt"
python -m benchmarks.load_snapshot --repeat 5 --memory --json "$out/load_snapshot.json" \
    | tee "$out/load_snapshot.txt"
# The remedies of the README's simulation section: 200 seeded runs each.
for scenario in baseline prefix-reservation larger-cidr dense fragmentation-aware; do
    python -m ipfrag simulate "remedies-$scenario" --runs 200 --workers 2 --seed 0
done | tee "$out/remedies.txt"
