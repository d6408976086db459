"""Upstream adapters behind one contract (`base.Source`), listed in one table (`adapters`).

Adding a source: one module with a class that has `from_settings(settings, tz, session)` and a
`REQUIRED_SETTINGS` tuple (from `options`), plus one line in `adapters.ADAPTERS`. What its
settings are lives in `options`, which the settings module reads without importing any adapter.
"""
