# mrecist-tool: the README's commands.  Everything installs into ./.venv; Debian packages
# (Xvfb and the xcb libraries napari needs, dicom3tools, dcmtk, chromium, R with survival,
# cmprsk and geepack, orthanc with its DICOMweb plugin for the PACS tests) are installed with
# apt-get when missing and we are root.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSSTAMP := .venv/.system-deps
DEBS := xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxkbcommon-x11-0 \
  libxcb-cursor0 libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xfixes0 \
  libxcb-xkb1 libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libfontconfig1 libdbus-1-3 \
  fonts-dejavu-core dicom3tools dcmtk chromium \
  r-base-core r-cran-survival r-cran-cmprsk r-cran-geepack \
  orthanc orthanc-dicomweb
XVFB := xvfb-run -a -s "-screen 0 1280x1024x24"
export XDG_RUNTIME_DIR ?= /tmp/runtime-$(shell id -u)

.PHONY: install system-deps demo viewer test bench lint rules-doc clean

$(STAMP): pyproject.toml plugins/napari/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' -e plugins/napari
	touch $@

install: $(STAMP)

# Debian packages: needed for the GUI tests (Xvfb), the DICOM validator (dciodvfy), the
# report test (chromium), the statistics cross-check against R (survival, cmprsk, geepack)
# and the PACS tests (Orthanc with DICOMweb).  Skipped quietly when everything is already
# there; re-checked when this Makefile changes (new packages reach existing checkouts).
$(SYSSTAMP): Makefile | $(STAMP)
	@missing=""; \
	for cmd in xvfb-run dciodvfy dcmdump chromium Rscript Orthanc; do command -v $$cmd >/dev/null || missing=1; done; \
	Rscript -e 'for (p in c("survival", "cmprsk", "geepack")) library(p, character.only = TRUE)' \
	  >/dev/null 2>&1 || missing=1; \
	[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || missing=1; \
	[ -e /usr/lib/x86_64-linux-gnu/libxcb-cursor.so.0 ] || [ -e /usr/lib/aarch64-linux-gnu/libxcb-cursor.so.0 ] || missing=1; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends $(DEBS) >/dev/null; \
	  else echo "Please install: $(DEBS)"; exit 1; fi; \
	fi
	touch $@

system-deps: $(SYSSTAMP)

demo: $(STAMP)
	$(BIN)/mrecist sample-data sample_data --if-missing
	$(BIN)/mrecist assess sample_data --out demo_output/sample
	$(BIN)/mrecist sample-data demo_output --cohort 668 --no-studies
	$(BIN)/mrecist assess demo_output/cohort --out demo_output/cohort_results --print never
	$(BIN)/mrecist analyze demo_output/cohort_results --out demo_output/report
	@echo
	@echo "Sample subjects: demo_output/sample/*.csv    Simulated trial report: demo_output/report/report.html"

viewer: $(STAMP) $(SYSSTAMP)
	$(BIN)/mrecist sample-data sample_data --if-missing
	$(BIN)/mrecist view sample_data/studies/SYN-003/SYN-003.json

# CI=1 (unless CI is already set): hypothesis explores the same examples on every run
# (tests/conftest.py); running pytest directly keeps random exploration.
test: $(STAMP) $(SYSSTAMP)
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	unset QT_QPA_PLATFORM; CI=$${CI:-1} $(XVFB) $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/assess_bench.py
	$(BIN)/python benchmarks/dicom_bench.py
	$(BIN)/python benchmarks/analysis_bench.py
	$(XVFB) $(BIN)/python benchmarks/viewer_bench.py

rules-doc: $(STAMP)
	$(BIN)/python scripts/rules_doc.py

lint: $(STAMP)
	$(BIN)/ruff check src plugins/napari/src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/mypy plugins/napari/src

clean:
	rm -rf $(VENV) demo_output .pytest_cache .mypy_cache
