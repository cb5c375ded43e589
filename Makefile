# The two commands: `make dev` starts the whole product on embedded defaults, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test test-postgres install system-deps bench clean

dev: install
	bash scripts/dev.sh

test: install
	bash scripts/test.sh

# The database tests again on PostgreSQL (TEST_DATABASE_URL, default the local server's `test` database).
test-postgres: install
	bash scripts/test.sh postgres

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/install.sh
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh

clean:
	rm -rf $(VENV) instance .pytest_cache
