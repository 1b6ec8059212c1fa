# Zgoda: `make run` serves the demo, `make test` runs the whole suite.
# Everything installs from the repo's own files, so a fresh machine with python3 is enough.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
CHROMIUM := /usr/bin/chromium
NGINX := /usr/sbin/nginx
MO_FILES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

.PHONY: run test lint bench pins catalogs messages install install-dev browser apt-install clean

# The demo's settings: a secret kept in instance/ (git-ignored) and the address it serves on.
DEMO_ENV = ZGODA_SECRET_KEY="$$(cat instance/secret_key)" ZGODA_PUBLIC_URL=http://127.0.0.1:5000

run: install catalogs instance/secret_key
	$(DEMO_ENV) $(BIN)/flask --app app db upgrade
	$(DEMO_ENV) $(BIN)/flask --app app run --host 127.0.0.1 --port 5000

test: install-dev catalogs browser lint
	$(PY) -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Benchmarks (not part of `make test`): results go in docs/benchmarks.md by hand.
bench: install-dev catalogs
	$(PY) bench/consent_bench.py
	$(PY) bench/export_bench.py
	$(PY) bench/embed_size.py
	$(PY) bench/embed_peers.py

# Each pin and the package, import or tool that needs it (tests/test_pins.py fails on a pin
# nothing needs, and on a need nothing pins).
pins: install-dev
	$(PY) -m tests.test_pins

install: $(VENV)/.installed
# PHP (Debian's php-cli) runs the tests of docs/snippets/; nginx (`nginx -t`, with an openssl
# certificate) and systemd (`systemd-analyze verify`) check deploy/ (tests/test_deploy.py);
# checked on every run, not stamped.
install-dev: $(VENV)/.installed-dev
	@command -v php >/dev/null || $(MAKE) --no-print-directory APT_PACKAGES=php-cli apt-install
	@test -x $(NGINX) || $(MAKE) --no-print-directory APT_PACKAGES=nginx apt-install
	@test -x /usr/bin/systemd-analyze || $(MAKE) --no-print-directory APT_PACKAGES=systemd apt-install
	@command -v openssl >/dev/null || $(MAKE) --no-print-directory APT_PACKAGES=openssl apt-install

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt package.json package-lock.json
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@command -v npm >/dev/null || $(MAKE) --no-print-directory APT_PACKAGES="nodejs npm" apt-install
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian packages the tests need (root, or sudo where there is one).
apt-install:
	@echo "Installing Debian's $(APT_PACKAGES) (needs root)"
	$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq $(APT_PACKAGES) >/dev/null

# The browser tests drive Debian's Chromium; it comes from apt, never a browser download.
browser:
	@test -x $(CHROMIUM) || $(MAKE) --no-print-directory APT_PACKAGES=chromium apt-install
	@test -x $(CHROMIUM)

catalogs: install $(MO_FILES)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile --statistics -i $< -o $@

# After changing user-facing strings: extract them and merge into the catalogs.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --width 100 -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --width 100

instance/secret_key:
	mkdir -p instance
	$(PY) -c "import secrets; print(secrets.token_urlsafe(48))" > $@
	chmod 600 $@

clean:
	rm -rf $(VENV) node_modules translations/*/LC_MESSAGES/*.mo .pytest_cache .mypy_cache .ruff_cache
