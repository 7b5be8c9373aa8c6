"""Measurements that are not tests: `make bench` runs them and writes docs/benchmarks.md."""
