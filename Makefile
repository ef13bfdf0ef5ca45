# The two commands of the README: `make run` (the product) and `make test` (every check CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: run test lint diagrams previews imported-pages reliability migration clean

$(BIN)/intake: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# A trial on this computer (the shipped 2021 campaign is past its retention date): `intake run` without
# --trial is the real service, and refuses an expired campaign.
run: $(BIN)/intake
	$(BIN)/intake run --trial

lint: $(BIN)/intake
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

test: lint
	$(BIN)/python -m pytest

diagrams: $(BIN)/intake
	$(BIN)/intake diagrams

# docs/RELIABILITY.md from a run of the reliability suite (INTAKE_CRASH_KILLS=1000 for a longer one).
reliability: $(BIN)/intake
	$(BIN)/python -m tests.reliability_report

# PNG pages of every sample form in docs/forms/ (needs LibreOffice, fonts-noto-cjk and poppler-utils).
previews: $(BIN)/intake
	rm -f docs/forms/*.png
	$(BIN)/intake preview --samples -o docs/forms

# docs/forms/blank/: the notice's three forms as blank Word files; docs/forms/imported/: PNG pages of
# every test form imported from its Word file and filled over the console (LibreOffice, poppler).
imported-pages: $(BIN)/intake
	$(BIN)/python -m tests.fixtures.notice_forms docs/forms/blank
	rm -f docs/forms/imported/*.png
	$(BIN)/python -m tests.fixtures.imported_pages docs/forms/imported

migration: $(BIN)/intake
	rm -f /tmp/intake-migration.db
	$(BIN)/intake migrate --db sqlite:////tmp/intake-migration.db
	$(BIN)/python -c "import sys; from alembic import command; from storage.database import alembic_config; \
	command.revision(alembic_config('sqlite:////tmp/intake-migration.db'), message=sys.argv[1], autogenerate=True)" "$(MESSAGE)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
