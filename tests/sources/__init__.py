"""Tests of signage.sources."""
