"""Upstream adapters behind one contract (`base.Source`), listed in one table (`adapters`).

Adding a source: one module with a class that has `from_settings(settings, tz, session)`, one
line in `adapters.ADAPTERS`, and its settings in `options` (`REQUIRED_SETTINGS`, and a check of
its optional ones in `CHECKS`), which the settings module reads without importing any adapter.
"""
