# Efficient Training of Deep Neural Networks: every command a learner, an instructor or CI needs.
# `make help` lists them. Each target sets up what it needs (the virtual environment, the
# website's offline JavaScript) the first time.

PYTHON_SYS ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
ENV_STAMP  := $(VENV)/.installed
ASSETS     := book/_offline_assets/.installed
NOTEBOOKS  := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))
# The committed outputs are the CPU's, without progress bars (see effdnn_lib/progress.py).
export EFFDNN_PROGRESS := 0
RUN_ENV    := EFFDNN_DEVICE=cpu EFFDNN_PROGRESS=0

.PHONY: help env book test test-unit test-sync test-notebooks test-portability test-student test-book test-site lab notebooks notebook student syllabus bench lock clean

help:
	@echo "make book      build the course website (executes every notebook) into book/_build/html"
	@echo "make test      unit tests, pair sync, nbval on every notebook (this CPU and three other"
	@echo "               kernel configurations), book build, browser check"
	@echo "make lab       open the course in JupyterLab"
	@echo "make student   write the student edition (no solutions) of every chapter into student/"
	@echo "make syllabus  regenerate book/syllabus.md from the chapters (and book/_data/course_runtime.json)"
	@echo "make notebook NB=notebooks/00_why_training_is_expensive.py"
	@echo "               regenerate one .ipynb from its .py source and execute it"
	@echo "make notebooks regenerate and execute every notebook"
	@echo "make bench     run the benchmarks in benchmarks/"
	@echo "make env       create .venv from requirements-lock.txt (done automatically)"

# ---- setup -------------------------------------------------------------------------------
env: $(ENV_STAMP)

$(ENV_STAMP): requirements-lock.txt pyproject.toml
	@$(PYTHON_SYS) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); set PYTHON_SYS=/path/to/python3.11")'
	test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-lock.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" > /dev/null
	touch $@

$(ASSETS): book/_vendor/package.json book/_vendor/package-lock.json
	@command -v npm > /dev/null || { echo "npm is needed once, to fetch MathJax and the widget renderer for the offline website (install Node.js)"; exit 1; }
	npm ci --prefix book/_vendor --no-audit --no-fund --loglevel=error
	rm -rf book/_offline_assets && mkdir -p book/_offline_assets/html-manager
	cp -r book/_vendor/node_modules/mathjax/es5 book/_offline_assets/mathjax
	cp book/_vendor/node_modules/requirejs/require.js book/_offline_assets/require.js
	cp book/_vendor/node_modules/@jupyter-widgets/html-manager/dist/*.js \
	   book/_vendor/node_modules/@jupyter-widgets/html-manager/dist/*.woff* \
	   book/_vendor/node_modules/@jupyter-widgets/html-manager/dist/*.ttf \
	   book/_vendor/node_modules/@jupyter-widgets/html-manager/dist/*.eot \
	   book/_vendor/node_modules/@jupyter-widgets/html-manager/dist/*.svg book/_offline_assets/html-manager/
	touch $@

# ---- the main job: the website -----------------------------------------------------------
book: $(ENV_STAMP) $(ASSETS)
	$(PY) tools/student_edition.py --out book/_student --suffix _student > /dev/null
	$(RUN_ENV) EFFDNN_WIDGETS=precomputed $(VENV)/bin/jupyter-book build book --all
	@echo
	@echo "The course website is ready: open $(CURDIR)/book/_build/html/index.html"

# ---- tests ---------------------------------------------------------------------------------
test: test-unit test-sync test-notebooks test-portability test-student test-book test-site
	@echo "All checks passed."

test-unit: $(ENV_STAMP)
	$(RUN_ENV) $(PY) -m pytest -q tests --ignore=tests/site

test-sync: $(ENV_STAMP)
	$(PY) tools/check_sync.py $(NOTEBOOKS)
	$(PY) tools/syllabus.py --check

test-notebooks: $(ENV_STAMP)
	$(RUN_ENV) timeout 3000 $(PY) -m pytest -q -p no:cacheprovider --nbval --nbval-current-env \
	  --nbval-cell-timeout=300 --nbval-sanitize-with tests/nbval_sanitize.cfg $(NOTEBOOKS:.py=.ipynb)

# The same comparison under other CPU kernel configurations of this machine (another vector
# instruction set for PyTorch and for MKL, another thread count): the outputs must not depend
# on the CPU that made them. See tools/portability.py.
test-portability: $(ENV_STAMP)
	$(RUN_ENV) timeout 3000 $(PY) tools/portability.py --jobs 2 $(NOTEBOOKS:.py=.ipynb)

# The notebooks were just re-executed and compared by nbval, so the test build renders their
# committed outputs instead of executing them a second time.
# The student edition executed top to bottom: every self-check says "not yet" on its stub and
# "correct" with the solution substituted; no cell fails (tools/student_edition.py).
test-student: $(ENV_STAMP)
	$(RUN_ENV) timeout 1800 $(PY) tools/student_edition.py --check --jobs 2 $(NOTEBOOKS)

test-book: $(ENV_STAMP) $(ASSETS)
	$(PY) tools/student_edition.py --out book/_student --suffix _student > /dev/null
	$(PY) tools/book_config.py --no-execute > book/_config_test.yml
	$(RUN_ENV) $(VENV)/bin/jupyter-book build book --all -W -n --keep-going --config book/_config_test.yml
	rm -f book/_config_test.yml

test-site: $(ENV_STAMP)
	$(PY) tools/ensure_browser.py
	$(PY) -m pytest -q tests/site

# ---- working on the course ---------------------------------------------------------------
# Trusts the course's own notebooks (so their saved widget views render) and installs the Lab
# settings in lab/overrides.json; see tools/lab_setup.py. MyST roles render via jupyterlab-myst.
lab: $(ENV_STAMP)
	$(PY) tools/lab_setup.py
	$(VENV)/bin/jupyter lab notebooks/

notebook: $(ENV_STAMP)
	@test -n "$(NB)" || { echo "usage: make notebook NB=notebooks/NN_name.py"; exit 2; }
	$(PY) tools/execute_notebooks.py $(NB)

notebooks: $(ENV_STAMP)
	$(PY) tools/execute_notebooks.py $(NOTEBOOKS)

student: $(ENV_STAMP)
	$(PY) tools/student_edition.py --out student $(NOTEBOOKS)

syllabus: $(ENV_STAMP)
	$(PY) tools/syllabus.py

bench: $(ENV_STAMP)
	$(PY) benchmarks/course_runtime.py --write
	$(PY) tools/syllabus.py

# Re-resolve the exact versions after changing the dependency lists in pyproject.toml.
lock:
	rm -rf /tmp/effdnn-lock && $(PYTHON_SYS) -m venv /tmp/effdnn-lock
	/tmp/effdnn-lock/bin/pip install --quiet "torch==2.13.0" ".[course]"
	{ sed -n '1,/^$$/p' requirements-lock.txt | grep '^#'; /tmp/effdnn-lock/bin/pip freeze --exclude effdnn-lib | sed 's/+cpu$$//'; } > requirements-lock.txt.new
	mv requirements-lock.txt.new requirements-lock.txt

clean:
	rm -rf book/_build book/_config_test.yml book/_student student
