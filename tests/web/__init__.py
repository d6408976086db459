"""Tests of the web side: views, pages, the browser."""
