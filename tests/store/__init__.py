"""Tests of signage.store."""
