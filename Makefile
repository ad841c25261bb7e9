# Two commands: `make demo` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-firstboot lint bench translations clean

$(STAMP): pyproject.toml
	@echo "Installing Bürgeramt Virtuell and its dependencies into $(VENV)/ (the first time takes about a minute) …"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq -e '.[dev]'
	touch $(STAMP)

AXE := node_modules/axe-core/axe.min.js

$(AXE): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $(AXE)

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d hub/translations
	$(BIN)/pybabel compile --use-fuzzy -d appliance/kiosk/translations

# make demo PORT=5001 KIOSK_PORT=8471: the hub's and the counter screen's ports, when taken.
demo: $(STAMP) translations
	$(BIN)/buergeramt demo $(if $(PORT),--port $(PORT)) $(if $(KIOSK_PORT),--kiosk-port $(KIOSK_PORT))

test: $(STAMP) translations $(AXE)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The whole first boot of a counter in a fresh Debian root (tests/firstboot, README "Development"):
# needs root, debootstrap, a Debian mirror and PyPI; minutes. Not part of `make test`.
test-firstboot: $(STAMP) translations
	$(BIN)/python -m pytest tests/firstboot $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) translations
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/signalling.py
	$(BIN)/python bench/call.py
	$(BIN)/python bench/kiosk.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/scanning.py
	$(BIN)/python bench/payment.py
	$(BIN)/python -m bench.fleet
	$(BIN)/python bench/admin.py
	$(BIN)/python bench/network.py

clean:
	rm -rf $(VENV) var test-artifacts node_modules
