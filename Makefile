# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lock serve clean-data

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pantau demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

serve: $(STAMP)
	$(BIN)/pantau serve

# Re-resolve the pinned dependency set after changing pyproject.toml.
lock:
	rm -rf /tmp/pantau-lock && $(PYTHON) -m venv /tmp/pantau-lock
	/tmp/pantau-lock/bin/pip install -q -e '.[dev]'
	/tmp/pantau-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean-data:
	rm -rf var
