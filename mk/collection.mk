# Collection gates (venv, unit, sanity, lint, changelog-lint, galaxy-importer). Included by the
# top-level Makefile.
# Every target fails (non-zero) on any failure; pytest's "no tests collected" (exit 5) fails too.

# Where Ansible finds this collection: ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_PATH) (a symlink to
# the work tree, so ansible-playbook / ansible-doc always see the current files).
COLLECTIONS_PATH := $(ROOT)/.cache/collections
COLLECTION_LINK := $(COLLECTIONS_PATH)/ansible_collections/cloudnative/fluid
# ansible-test needs a real directory named ansible_collections/cloudnative/fluid: the collection
# exactly as users get it, the tarball of `ansible-galaxy collection build` (galaxy.yml's
# build_ignore applies) installed by `ansible-galaxy collection install`, fresh on every run, with its own empty git repository so ansible-test does not take
# the outer one (which ignores .cache).
SANITY_ROOT := $(ROOT)/.cache/sanity/ansible_collections
SANITY_DIR := $(SANITY_ROOT)/cloudnative/fluid
SANITY_BUILD := $(ROOT)/.cache/sanity/build
ANSIBLE_TEST_PYTHON ?= 3.11

# ansible-test bootstraps pip into its sanity venvs with a get-pip.py it downloads from
# ci-files.testing.ansible.com, which this network does not reach. This stand-in does the same job
# from what is reachable: Python's bundled pip (ensurepip), then the requested pip from PyPI.
# It is written to ansible-test's own cache path only when no real script is there.
ANSIBLE_TEST_PIP := 24.2
GET_PIP_CACHE := $(HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(ANSIBLE_TEST_PIP)).py
define GET_PIP_STANDIN
"""Stand-in for get-pip.py $(ANSIBLE_TEST_PIP), written by cloudnative.fluid's mk/collection.mk."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
# In a subprocess: ensurepip points PIP_CONFIG_FILE at /dev/null in its own environment, which
# would hide the machine's pip configuration (certificates, mirrors) from the install below.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "-q"] + args))
endef
export GET_PIP_STANDIN

.PHONY: venv collection-link unit sanity lint changelog-lint galaxy-importer
venv: $(VENV)/.done
$(VENV)/.done: requirements.txt requirements-dev.txt hack/versions.env
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q "ansible==$(ANSIBLE_VERSION)" -r requirements.txt -r requirements-dev.txt
	touch $@

collection-link:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn $(ROOT) $(COLLECTION_LINK)

unit: venv collection-link
	cd $(ROOT) && $(VENV)/bin/python -m pytest tests/unit -q -p no:cacheprovider

sanity: venv
	@set -euo pipefail; \
	if [ ! -s $(GET_PIP_CACHE) ] || grep -q "written by cloudnative.fluid" $(GET_PIP_CACHE); then \
	  mkdir -p $(dir $(GET_PIP_CACHE)); \
	  printf '%s\n' "$$GET_PIP_STANDIN" > $(GET_PIP_CACHE); fi; \
	rm -rf $(SANITY_DIR) $(SANITY_BUILD); mkdir -p $(SANITY_BUILD) $(SANITY_ROOT)/kubernetes; \
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(SANITY_BUILD) $(ROOT) >/dev/null; \
	$(VENV)/bin/ansible-galaxy collection install --no-deps --force -p $(dir $(SANITY_ROOT)) \
	  $(SANITY_BUILD)/cloudnative-fluid-*.tar.gz >/dev/null; \
	k8s_core=$$($(VENV)/bin/python -c 'import ansible_collections.kubernetes.core as m; print(list(m.__path__)[0])'); \
	ln -sfn "$$k8s_core" $(SANITY_ROOT)/kubernetes/core; \
	cd $(SANITY_DIR); \
	git init -q . && echo /tests/output/ >> .git/info/exclude; \
	PATH=$(VENV)/bin:$$PATH ansible-test sanity --venv --python $(ANSIBLE_TEST_PYTHON) --color no

lint: venv collection-link
	cd $(ROOT) && PATH=$(VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_PATH) ansible-lint --offline --profile production -c .ansible-lint
	cd $(ROOT) && $(VENV)/bin/ruff check --no-cache hack bench tests molecule

changelog-lint: venv
	cd $(ROOT) && $(VENV)/bin/antsibull-changelog lint

# What Galaxy runs on upload: galaxy-importer (pinned in requirements-dev.txt) on the tarball that
# `ansible-galaxy collection build` makes. Its configuration is written here, so that it needs no
# container engine (RUN_ANSIBLE_TEST = False: ansible-test sanity is `make sanity`) and no network
# (ansible-lint --offline), and keeps its temporary files under .cache/galaxy-importer/.
# Galaxy's importer has ansible-core and the uploaded collection, no other collection: with
# ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False, ansible-doc and ansible-lint here do not see the
# collections of the venv's `ansible` package (kubernetes.core) either. So a doc fragment of
# another collection fails here as on Galaxy, and ansible-lint warns about kubernetes.core's
# modules (unknown-module) as Galaxy's does.
# The importer exits 0 although it logged errors (for example module docs ansible-doc cannot
# load); this target fails on any ERROR line too. Its log: .cache/galaxy-importer/importer.log.
GALAXY_IMPORTER_DIR := $(ROOT)/.cache/galaxy-importer
define GALAXY_IMPORTER_CFG
[galaxy-importer]
LOG_LEVEL_MAIN = INFO
RUN_ANSIBLE_TEST = False
ANSIBLE_TEST_LOCAL_IMAGE = False
LOCAL_IMAGE_DOCKER = False
INFRA_OSD = False
RUN_ANSIBLE_DOC = True
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
RUN_FLAKE8 = False
CHECK_CHANGELOG = True
CHECK_REQUIRED_TAGS = False
REQUIRE_V1_OR_GREATER = False
ANSIBLE_LOCAL_TMP = $(GALAXY_IMPORTER_DIR)/ansible-tmp
TMP_ROOT_DIR = $(GALAXY_IMPORTER_DIR)/tmp
endef
export GALAXY_IMPORTER_CFG

galaxy-importer: venv
	@set -euo pipefail; d=$(GALAXY_IMPORTER_DIR); \
	rm -rf $$d; mkdir -p $$d/build $$d/tmp $$d/ansible-tmp $$d/home; \
	printf '%s\n' "$$GALAXY_IMPORTER_CFG" > $$d/galaxy-importer.cfg; \
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $$d/build $(ROOT) >/dev/null; \
	tarball=$$(ls $$d/build/cloudnative-fluid-*.tar.gz); echo "galaxy-importer: $$tarball"; \
	cd $$d; rc=0; \
	env HOME=$$d/home PATH=$(VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False GALAXY_IMPORTER_CONFIG=$$d/galaxy-importer.cfg \
	  $(VENV)/bin/python -m galaxy_importer.main "$$tarball" > $$d/importer.log 2>&1 || rc=$$?; \
	cat $$d/importer.log; \
	if [ $$rc -ne 0 ] || grep -q '^ERROR' $$d/importer.log; then \
	  echo "galaxy-importer: FAILED (exit $$rc, $$(grep -c '^ERROR' $$d/importer.log || true) ERROR lines)"; exit 1; fi; \
	echo "galaxy-importer: passed ($$(grep -c '^WARNING' $$d/importer.log || true) warnings)"
