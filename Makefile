# The README's two commands: `make run` and `make test`.
HOST ?= 127.0.0.1
PORT ?= 8000

# The suite waits on servers and browsers more than it computes: two pytest-xdist workers cut
# its time by a third on a 2-core machine. WORKERS= runs it in one process.
WORKERS ?= -n 2

.PHONY: run test test-fast test-at lint bench soak translations venv dev-venv

venv:
	@scripts/bootstrap.sh requirements.txt

dev-venv:
	@scripts/bootstrap.sh requirements-dev.txt

run: venv
	.venv/bin/flask --app wsgi signage serve --host $(HOST) --port $(PORT)

lint: dev-venv
	.venv/bin/ruff check .

test: dev-venv
	@scripts/system-deps.sh
	@scripts/node-deps.sh
	.venv/bin/ruff check .
	.venv/bin/python -m pytest $(WORKERS)

# The fast tier (under a minute): no browser, no real processes of ours, nothing slow.
test-fast: dev-venv
	@scripts/system-deps.sh
	@scripts/node-deps.sh
	.venv/bin/python -m pytest -q -m "not browser and not system and not slow"

# The whole suite with every Python process's wall clock at another instant, e.g.
# `make test-at AT="2027-10-31 02:30"` (school-local) or AT=commit (the instant HEAD picks).
AT ?= commit
test-at: dev-venv
	scripts/test-at.sh "$(AT)" -q $(WORKERS)

# The benchmark (about 10 minutes): prints the tables and writes BENCHMARKS.md.
bench: dev-venv
	@scripts/system-deps.sh wrk
	.venv/bin/python -m bench.run

# The kiosk soak (about 17 minutes): a school day of polling in headless Chromium, JS heap and
# DOM nodes sampled; prints a table. `.venv/bin/python -m bench.soak --minutes 5` runs less.
soak: dev-venv
	@scripts/system-deps.sh
	.venv/bin/python -m bench.soak

# Re-extract the messages and re-compile the catalogues after changing translatable text.
translations: dev-venv
	.venv/bin/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o signage/translations/messages.pot .
	.venv/bin/pybabel update -i signage/translations/messages.pot -d signage/translations
	.venv/bin/pybabel compile -d signage/translations
