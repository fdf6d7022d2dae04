# Two commands for a newcomer: `make demo` and `make test`. Everything else is installed
# into ./.venv by the targets themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("hr2bi needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hr2bi demo

test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/hr2bi mappings check
	$(VENV)/bin/hr2bi mappings test
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/scim_lookup.py
	$(PY) bench/scim_patch_concurrency.py
	$(PY) bench/rules_100k.py
	$(PY) bench/import_100k.py
	$(PY) bench/push_latency.py
	$(PY) bench/apply_rate.py
	$(PY) bench/audit_verify.py
	$(PY) bench/console_people.py
	@if [ -n "$$DATABASE_URL" ]; then $(PY) bench/scale_out.py; \
	else echo "bench/scale_out.py skipped: it needs DATABASE_URL=postgresql://... and Redis"; fi

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis hr2bi.db hr2bi.db-wal hr2bi.db-shm
