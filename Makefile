# `make test` and `make reproduce` create .venv on first use and install coordlib into it,
# pinned by constraints.txt (torch is the CPU build).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint test-slow reproduce smoke bench docs site site-test wheel-check clean

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

# the API reference from the docstrings (pdoc) into build/docs; fails on any pdoc warning
docs: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[docs]"
	$(PY) -m coordlib.pipeline.docs --out build/docs

# the companion site into build/site: the committed executed notebooks, the claims ledger, the
# figures, the runs and MODEL.md as static pages that work offline; re-runs no notebook
site: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[site]"
	$(PY) -m coordlib.pipeline.site --out build/site

# the site in headless Chromium (Debian's chromium and chromium-driver; skipped without them)
site-test: site
	$(PY) -m pytest -n 0 tests/test_site.py

# build the wheel, install it into a fresh venv outside the repository and run the README's
# quickstart there (installs every dependency: minutes, so not part of `make test`)
wheel-check: $(STAMP)
	$(PY) -m pytest -m slow tests/test_packaging.py -k wheel

clean:
	rm -rf build .pytest_cache
