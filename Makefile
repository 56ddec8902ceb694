# Two commands on a fresh machine: `make demo` and `make test`. Each creates or reuses .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKERS ?= 3

.PHONY: install demo run test lint typecheck format bench bench-instances screenshots clear-db clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: install  ## Bozor on embedded defaults, with the bundled Bot API emulator (no token)
	$(BIN)/bozor demo

run: install  ## Bozor against Telegram (needs BOT_TOKEN)
	$(BIN)/bozor run

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

test: lint typecheck  ## everything CI runs: lint, types, the whole suite on SQLite and PostgreSQL
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup --durations=15

screenshots: install  ## the README's pictures, from the browser tests (docs/screenshots)
	BOZOR_SCREENSHOTS=1 $(BIN)/pytest tests/browser -n 1

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install
	$(BIN)/python bench/referral_starts.py

bench-instances: install  ## updates/s with 1, 2 and 3 instances on PostgreSQL through webhooks
	$(BIN)/python bench/instances.py

clear-db: install  ## delete all data from the configured database (asks first), keep the schema
	$(BIN)/bozor db clear

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
