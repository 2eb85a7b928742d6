"""Benchmarks (run with `make bench`); importable so the test suite can smoke-test them."""
