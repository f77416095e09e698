# Touchline: `make demo` serves the demo company, `make test` runs every check.
# Both set up what they need on a fresh clone: a virtualenv in .venv with the
# pinned Python packages (constraints.txt) and the front-end assets from npm.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := touchline/web/static/vendor

.PHONY: demo test install assets lint typecheck migrations-check pytest browser lock messages serve clean

demo: install
	$(BIN)/touchline demo --serve

serve: install
	$(BIN)/touchline serve

test: install browser lint typecheck migrations-check pytest

install: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Touchline needs Python 3.11 or newer; set PYTHON=python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

assets: $(VENDOR)/.copied

$(VENDOR)/.copied: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR)/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	touch $@

# Browser tests drive Debian's Chromium; install it when missing and we are root.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
				echo "could not install chromium: browser tests will skip"; \
		else echo "chromium missing and not root: browser tests will skip"; fi; }

lint: install
	$(BIN)/ruff check touchline tests benchmarks scripts
	$(BIN)/ruff format --check touchline tests benchmarks scripts

typecheck: install
	$(BIN)/mypy touchline

migrations-check: install
	$(BIN)/python -m touchline.migrations.check

pytest: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Regenerate the catalogues after changing visible strings.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -o touchline/locales/messages.pot .
	$(BIN)/pybabel update -i touchline/locales/messages.pot -d touchline/locales --no-fuzzy-matching

# Re-pin every Python package to the newest release the registry serves.
lock:
	rm -rf /tmp/touchline-lock && $(PYTHON) -m venv /tmp/touchline-lock
	/tmp/touchline-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/touchline-lock/bin/pip freeze --exclude-editable | grep -v '^touchline' > constraints.txt

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .mypy_cache .ruff_cache .pytest_cache
