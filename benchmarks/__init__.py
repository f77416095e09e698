"""Benchmarks: each compares Touchline with a reference on the same data in the same run."""
