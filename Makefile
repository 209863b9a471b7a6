# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install migrate seed lint bench worker beat clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	@DEBUG=1 $(PY) manage.py bootstrap_admin
	@echo "Demo API key for the web channel (a new one each run):"
	@key=$$($(PY) manage.py create_api_key --name "demo web key" --channel web) && \
		echo "    $$key" && \
		echo "    curl -H 'Authorization: Bearer $$key' http://$(HOST):$(PORT)/api/v1/orders/"
	@echo "Admin: http://$(HOST):$(PORT)/admin/    API docs: http://$(HOST):$(PORT)/api/v1/docs/"
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

worker: install
	$(VENV)/bin/celery -A oms_project worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A oms_project beat --loglevel=INFO

# NAME=b1 or NAME=b1_order_capture: the first bench module whose name starts with NAME.
BENCH_MODULE = $(basename $(notdir $(firstword $(wildcard bench/$(NAME)_*.py bench/$(NAME).py))))
bench: install
	@test -n "$(BENCH_MODULE)" || { echo "No benchmark named '$(NAME)' in bench/"; exit 2; }
	$(PY) -m bench.$(BENCH_MODULE) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
