# The README's two commands: `make demo` (set up + a small end-to-end run) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := demo_out

.PHONY: setup demo test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[render,dev]'
	touch $@

demo: setup
	$(BIN)/genomni generate kubric --out $(DEMO)/kubric --num-scenes 4 --frames 12 --resolution 96 --samples 16 --max-objects 3 --workers 2 --seed 0
	$(BIN)/genomni data inspect $(DEMO)/kubric --preview $(DEMO)/preview.png --gif $(DEMO)/preview.gif

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/generate_kubric.py

clean:
	rm -rf $(VENV) $(DEMO)
