# opsbook — one entry point for setup, demo, tests and benchmarks.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

.PHONY: setup demo test bench sample serve clean fonts

setup: $(STAMP) fonts data/sample.duckdb

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@# rfc3987-syntax makes every `import jsonschema` ~1.2 s slower (papermill, nbval, voila); nothing here needs it
	-$(BIN)/pip uninstall -q -y rfc3987-syntax
	@# strip notebook outputs on commit (filter in .git/config, attributes in .git/info)
	-$(BIN)/nbstripout --install 2>/dev/null
	touch $(STAMP)

# the sample shop as a DuckDB file too (a second kind of source; not in git)
data/sample.duckdb: $(STAMP) $(wildcard data/sample/*.parquet)
	$(BIN)/opsbook convert data/sample data/sample.duckdb >/dev/null

fonts:
	@if [ ! -f $(CJK_FONT) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "安装中文字体 fonts-noto-cjk …"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; \
	  else echo "提示：未找到中文字体，请安装 fonts-noto-cjk（图表中文需要）"; fi; \
	fi

demo: setup
	$(BIN)/opsbook jobs run
	@echo "所有报告：runs/<剧本>/latest/report.html"
	$(BIN)/opsbook serve

serve: setup
	$(BIN)/opsbook serve

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/run.py

sample: setup
	$(BIN)/opsbook sample --orders 20000 --out data/sample
	$(BIN)/opsbook convert data/sample data/sample.duckdb

clean:
	rm -rf runs .opsbook
