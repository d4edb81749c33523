"""Benchmarks of the signer: `python -m bench` (BENCH_SIZE=tiny|small|full)."""
