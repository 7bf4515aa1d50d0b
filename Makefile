# Two commands matter: `make lab` (open the course) and `make test` (run every test).
# Both create .venv on first use and install the package with its extras into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= quick

.PHONY: install lab test unit notebooks figures docs bench strip clean help

help:
	@echo "make lab        open the course in JupyterLab (creates .venv on first use)"
	@echo "make test       unit tests + every notebook under nbval, quick profile"
	@echo "make unit       unit tests only"
	@echo "make notebooks  execute every notebook headless (PROFILE=quick|demo|full) into runs/notebooks/"
	@echo "make figures    re-make the README figures (notebooks/figures/) by running the notebooks"
	@echo "make docs       rewrite README.md and the notebooks' introductions from the committed records"
	@echo "make bench      time every method's training step at the demo size (fp32, bf16) into benchmarks/, then make docs"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,faces,scrape]'
	# face_recognition pins a dlib source build; the dlib-bin wheel provides dlib instead.
	$(BIN)/python -m pip install -q --no-deps face_recognition
	# MTCNN (notebook 03's face detector behind masks): its wheel ships the weights but pins torch<2.3.
	$(BIN)/python -m pip install -q --no-deps facenet-pytorch
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

test: $(STAMP)
	FACES_PROFILE=quick MPLBACKEND=Agg $(BIN)/python -m pytest tests notebooks \
	    --nbval-lax --nbval-cell-timeout=900 --durations=15 -q -rs

unit: $(STAMP)
	FACES_PROFILE=quick MPLBACKEND=Agg $(BIN)/python -m pytest tests -q -rs

notebooks: $(STAMP)
	mkdir -p runs/notebooks
	FACES_PROFILE=$(PROFILE) $(BIN)/jupyter nbconvert --to notebook --execute \
	    --ExecutePreprocessor.timeout=-1 --output-dir runs/notebooks notebooks/*.ipynb

figures: $(STAMP)
	FACES_PROFILE=$(PROFILE) MPLBACKEND=Agg $(BIN)/python notebooks/make_figures.py

strip: $(STAMP)
	$(BIN)/nbstripout notebooks/*.ipynb

clean:
	rm -rf $(VENV) runs .pytest_cache

docs: $(STAMP)
	$(BIN)/python -m helpers.core.docs

# Every method's benchmark at the demo size, one thread, into benchmarks/<method>.json (merged: other
# profiles and reference comparisons measured before are kept); the README's speed table follows.
BENCH_METHODS  ?= dcgan analysis glcic lafin stylegan2 ganimation idvae
BENCH_PROFILES ?= demo
bench: $(STAMP)
	for m in $(BENCH_METHODS); do \
	    MPLBACKEND=Agg $(BIN)/python -m helpers.$$m bench --profiles $(BENCH_PROFILES) --threads 1 \
	        --json benchmarks/$$m.json || exit 1; \
	done
	$(BIN)/python -m helpers.core.docs
