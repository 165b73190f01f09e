# One command sets up and runs the main job (`make demo`), one sets up and tests (`make test`).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLES ?= ../shared/samples

.PHONY: install demo test lint bench train-default clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0   # local CPU build: install it before anything pulls CUDA wheels
	$(BIN)/pip install --quiet -e '.[test]'
	@# the text model's network to ONNX (~90 MB, into ~/.cache/emofuse): it then starts without torch
	$(BIN)/emofuse export-onnx --only text > /dev/null
	@# the browser test needs Chromium (never `playwright install`: it downloads a browser)
	@if [ "$$(id -u)" = 0 ]; then command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium) || true; fi
	touch $(STAMP)

demo: install
	@$(BIN)/emofuse export-onnx --missing > /dev/null   # the text model's ONNX export, once
	@if [ -f $(SAMPLES)/four_emotions.mp4 ]; then \
	  $(BIN)/emofuse analyze $(SAMPLES)/four_emotions.mp4 --transcript $(SAMPLES)/four_emotions.srt; \
	else \
	  echo "($(SAMPLES)/four_emotions.mp4 not found: skipping the video demo)"; \
	fi
	$(BIN)/emofuse analyze --text "I can't believe we actually won, this is the best day ever!"

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/analyze.py
	$(BIN)/python bench/faces.py
	$(BIN)/python bench/voice_activity.py
	$(BIN)/python bench/text_parity.py
	$(BIN)/python bench/memory.py --before c2aae19 --before-minutes 1,10,60
	$(BIN)/python bench/live.py
	$(BIN)/python bench/encoders.py
	$(BIN)/python bench/robustness.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/readme.py   # the result tables into README.md

train-default: install
	$(BIN)/emofuse train-default --data ../shared/data

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
