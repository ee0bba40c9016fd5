# Neural-network playground: common tasks. Everything runs from the project virtualenv (.venv).

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test bench format

venv: $(STAMP)

# Reinstall only when a requirements file changes (the stamp is older than it).
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $(STAMP)

run: venv
	$(BIN)/streamlit run app.py

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/python -m bench.bench_trainer
	$(BIN)/python -m bench.bench_live
	$(BIN)/python -m bench.bench_landscape

# Fix what ruff can first (fixes may leave code unformatted), then format; leftovers are listed.
format: venv
	$(BIN)/ruff check --fix --exit-zero .
	$(BIN)/ruff format .
