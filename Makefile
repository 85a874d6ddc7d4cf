# `make test` and `make reproduce` create .venv on first use and install coordlib into it,
# pinned by constraints.txt (torch is the CPU build).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint test-slow reproduce smoke bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2

lint: $(STAMP)
	$(PY) -m ruff check .

test-slow: $(STAMP)
	$(PY) -m pytest -n 2 -m slow

reproduce: $(STAMP)
	$(PY) -m coordlib reproduce --profile paper

smoke: $(STAMP)
	$(PY) -m coordlib reproduce --profile smoke

bench: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) -m coordlib bench

clean:
	rm -rf build .pytest_cache
