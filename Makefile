# Neural-network playground: common tasks. Everything runs from the project virtualenv (.venv).

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run serve-class test bench format

venv: $(STAMP)

# Reinstall only when a requirements file changes (the stamp is older than it).
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $(STAMP)

run: venv
	$(BIN)/streamlit run app.py

# A class on one machine: REPLICAS app processes (ports PORT+1..) behind nginx on PORT, each
# browser kept on its replica by a cookie (docs/deploy.md). Needs nginx (apt-get install nginx).
REPLICAS ?= 2
PORT ?= 8501
serve-class: venv
	$(BIN)/python -m deploy.serve_class --replicas $(REPLICAS) --port $(PORT)

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# Library and page tests on every core, each file on one worker (files cache trained
	# baselines), with the browser walk in Chinese (it reads text and times nothing); then
	# the other browser tests alone, as they time a live view and eight sessions.
	$(BIN)/python -m pytest -q -n auto --dist loadfile tests \
		--ignore-glob='tests/e2e/test_[!c]*' --ignore=tests/e2e/test_class_proxy.py --durations=20
	$(BIN)/python -m pytest -q tests/e2e --ignore=tests/e2e/test_chinese_browser.py --durations=20

bench: venv
	$(BIN)/python -m bench.bench_trainer
	$(BIN)/python -m bench.bench_live
	$(BIN)/python -m bench.bench_landscape

# Fix what ruff can first (fixes may leave code unformatted), then format; leftovers are listed.
format: venv
	$(BIN)/ruff check --fix --exit-zero .
	$(BIN)/ruff format .
