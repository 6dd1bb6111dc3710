# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test venv lint typecheck translations check-slow bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

## make run: environment, database, demo organisation (only into an empty database), server
run: venv
	$(PY) -m flask db upgrade
	$(PY) -m flask demo load --if-empty
	$(PY) -m flask demo accounts
	@echo "Irritants: http://127.0.0.1:$(PORT)"
	$(PY) -m flask run --host 127.0.0.1 --port $(PORT)

## make test: lint, types, catalogues, and the whole suite on SQLite and PostgreSQL
test: venv lint typecheck
	$(PY) scripts/test_services.py -m "not slow" $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy --strict --follow-imports=silent irritants/routing

## make translations: extract messages and update the catalogues (then translate, then compile)
translations: venv
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k n_:1,2 -o irritants/translations/messages.pot .
	$(VENV)/bin/pybabel update -i irritants/translations/messages.pot -d irritants/translations --no-fuzzy-matching
	$(VENV)/bin/pybabel compile -d irritants/translations

## make check-slow: fault, fuzz and load suites
check-slow: venv
	$(PY) scripts/test_services.py -m slow $(PYTEST_ARGS)

bench: venv
	$(PY) bench/routing.py

clean:
	rm -rf $(VENV) instance/irritants.db*
