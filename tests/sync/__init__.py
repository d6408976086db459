"""Tests of signage.sync."""
