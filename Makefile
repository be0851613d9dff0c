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
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[render,train,dev]'
	touch $@

demo: setup
	$(BIN)/genomni generate kubric --out $(DEMO)/kubric --num-scenes 4 --frames 12 --resolution 96 --samples 16 --max-objects 3 --seed 0
	$(BIN)/genomni generate kubric --out $(DEMO)/kubric-val --num-scenes 2 --frames 12 --resolution 96 --samples 16 --max-objects 3 --seed 100
	$(BIN)/genomni data inspect $(DEMO)/kubric --preview $(DEMO)/preview.png --gif $(DEMO)/preview.gif
	test -d $(DEMO)/casper-tiny || $(BIN)/genomni train init --preset tiny --out $(DEMO)/casper-tiny
	grep -q vae_fit $(DEMO)/casper-tiny/casper.json || $(BIN)/genomni train vae --model $(DEMO)/casper-tiny --data $(DEMO)/kubric --val $(DEMO)/kubric-val --steps 60 --frames 5 --resolution 32
	$(BIN)/genomni train run --model $(DEMO)/casper-tiny --data $(DEMO)/kubric --val $(DEMO)/kubric-val --out $(DEMO)/train --frames 9 --resolution 64 --steps 60 --validate-every 30 --checkpoint-every 30 --val-samples 2 --resume latest

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/generate_kubric.py
	$(BIN)/python benchmarks/train_step.py $(DEMO)/kubric

clean:
	rm -rf $(VENV) $(DEMO)
