"""Tests of signage.domain."""
