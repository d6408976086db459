"""Tests of whole processes: the commands, production, faults, soaks, benchmarks."""
