"""Benchmarks of the reminder engine (not tests: nothing here asserts; see bench/README.md)."""
