# Collection gates (venv, unit, sanity, lint, changelog-lint). Included by the top-level Makefile.
# Every target fails (non-zero) on any failure; pytest's "no tests collected" (exit 5) fails too.

# Where Ansible finds this collection: ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_PATH) (a symlink to
# the work tree, so ansible-playbook / ansible-doc always see the current files).
COLLECTIONS_PATH := $(ROOT)/.cache/collections
COLLECTION_LINK := $(COLLECTIONS_PATH)/ansible_collections/cloudnative/fluid
# ansible-test needs a real directory named ansible_collections/cloudnative/fluid: the collection
# exactly as `ansible-galaxy collection build` ships it (galaxy.yml's build_ignore applies),
# unpacked fresh on every run, with its own empty git repository so ansible-test does not take
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

.PHONY: venv collection-link unit sanity lint changelog-lint
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
	rm -rf $(SANITY_DIR) $(SANITY_BUILD); mkdir -p $(SANITY_DIR) $(SANITY_BUILD) $(SANITY_ROOT)/kubernetes; \
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(SANITY_BUILD) $(ROOT) >/dev/null; \
	tar -xzf $(SANITY_BUILD)/cloudnative-fluid-*.tar.gz -C $(SANITY_DIR); \
	k8s_core=$$($(VENV)/bin/python -c 'import ansible_collections.kubernetes.core as m; print(list(m.__path__)[0])'); \
	ln -sfn "$$k8s_core" $(SANITY_ROOT)/kubernetes/core; \
	cd $(SANITY_DIR); \
	git init -q . && echo /tests/output/ >> .git/info/exclude; \
	PATH=$(VENV)/bin:$$PATH ansible-test sanity --venv --python $(ANSIBLE_TEST_PYTHON) --color no

lint: venv collection-link
	cd $(ROOT) && PATH=$(VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_PATH) ansible-lint --offline --profile production -c .ansible-lint

changelog-lint: venv
	cd $(ROOT) && $(VENV)/bin/antsibull-changelog lint
