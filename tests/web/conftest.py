"""Fixtures the web tests share: an app with admin and staff passwords, and a logged-in admin
(defined with the admin tests)."""

from tests.web.test_admin import admin, admin_app  # noqa: F401 (fixtures)
