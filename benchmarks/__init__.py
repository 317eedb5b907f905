"""ipfrag's benchmarks: asv suites (``bench_*.py``) and the peer comparison (``compare``).

``asv run --quick --python=same`` times the hot path of :class:`ipfrag.Subnet`;
``python -m benchmarks.compare`` replays one workload through ipfrag and the ways a
user would answer the same questions today (``benchmarks.peers``).
"""
