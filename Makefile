# couponops — `make demo` and `make test` do all set-up on a fresh machine (Python 3.11 + venv).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
ROWS ?= 10000000
SIZES ?= 1000000,10000000,30000000
LOAD_SECONDS ?= 60
PO := locale/ko/LC_MESSAGES/django.po

.PHONY: demo demo-data test test-long lint format bench bench-holdout bench-path bench-scale bench-api bench-api-cost bench-throttle bench-http messages clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@echo "== Installing the Python packages into $(VENV) (first run only: a minute or two)"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install --progress-bar on -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

var:
	mkdir -p var

demo-data: venv var
	$(PY) manage.py build_demo_warehouse --rows 1000000

# Migrates the SQLite default, builds the DuckDB demo warehouse, queues a 1,000,000-coupon
# distribution, then runs the web server and the worker until Ctrl-C. The login (var/demo-login.txt)
# keeps its password across runs.
demo: venv var
	$(PY) manage.py migrate --noinput -v0
	@test -f var/demo.duckdb || $(PY) manage.py build_demo_warehouse --rows 1000000
	$(PY) manage.py setup_demo
	@# rundemo prints the login again once the web server answers, so it is the last thing on screen.
	$(PY) manage.py rundemo

test: venv
	$(PY) -m pytest --durations=20

# The model-based lifecycle test with far more random sequences than CI explores (about half an hour).
test-long: venv
	HYPOTHESIS_PROFILE=long $(PY) -m pytest tests/test_lifecycle_model.py -p no:cacheprovider

# Lint and format check, as .ci/run does before the tests; `make format` fixes what it can.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: venv
	$(PY) -m bench.run --rows $(ROWS)

# Growth: the full path at each size, with table/index/WAL sizes and admin timings (docs/scaling.md).
# A 10% control group against none, alternating, medians: `make bench-holdout ROWS=1000000` on a shared machine.
bench-holdout: venv
	$(PY) -m bench.run --rows $(ROWS) --only holdout

# The issue's ratio alone (full path against raw COPY and the bare loop) in a few minutes.
bench-path: venv
	$(PY) -m bench.run --rows $(ROWS) --only path

bench-scale: venv
	$(PY) -m bench.scale --sizes $(SIZES)
# The Coupon API under gunicorn, loaded by locust: `make bench-api ROWS=200000 LOAD_SECONDS=20` for a smoke run.
bench-api: venv
	$(PY) -m bench.api --rows $(ROWS) --seconds $(LOAD_SECONDS)

# Members' calls at a fixed rate (open loop) during a run: throttle on, off, with a read replica (docs/throttle.md).
bench-throttle: venv
	$(PY) -m bench.throttle --rows $(ROWS) --seconds $(LOAD_SECONDS)

# couponops distributing into a coupon service elsewhere (DISTRIBUTION_WRITER=http): a second couponops
# serves the API under gunicorn; `make bench-http ROWS=200000` for a smoke run.
bench-http: venv
	$(PY) -m bench.remote --rows $(ROWS)

# Developers only: refresh the Korean catalogue after changing strings (needs GNU gettext).
messages: venv
	$(PY) manage.py makemessages -l ko --no-location --ignore=.venv --ignore=tests --ignore=bench
	@# Our Korean for other packages' strings (locale/vendor-ko.po) stays in the catalogue: makemessages sees only our code.
	msgattrib --no-obsolete -o $(PO) $(PO)
	msgcat --use-first --no-location -o $(PO) $(PO) locale/vendor-ko.po
	$(PY) manage.py compilemessages -l ko --ignore=.venv

clean:
	rm -rf $(VENV) var

# The cost of one Coupon API call (one gunicorn worker): calls per CPU-second, queries per call.
API_COST_SECONDS ?= 20
bench-api-cost: venv
	$(PY) -m bench.api_cost --seconds $(API_COST_SECONDS)
