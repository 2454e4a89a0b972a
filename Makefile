# cloudnative.fluid — two commands do everything on a fresh machine:
#   make demo   the whole demo on the embedded cluster (.work/), whatever $KUBECONFIG says;
#               make demo DEMO_KUBECONFIG=~/.kube/config runs it on that cluster instead
#   make test   every gate: unit, sanity, lint, integration and molecule on clusters of their own
#               (.work-test/), never on make demo's cluster or $KUBECONFIG's
#   make check  the everyday loop: unit, sanity, lint (no cluster)
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
include $(ROOT)/hack/versions.env
PY ?= python3.11
VENV := $(ROOT)/.venv
CLUSTER := $(PY) $(ROOT)/hack/cluster/cluster.py

include $(ROOT)/mk/collection.mk

.PHONY: ee ee-test help cluster-build cluster-up cluster-down cluster-status tools-mod test check demo demo-fleet demo-fleet-down integration molecule bench
PYTEST := $(VENV)/bin/python -m pytest

help:
	@echo "make demo            the demo end to end on the embedded cluster (.work/), never on \$$KUBECONFIG's"
	@echo "make demo DEMO_KUBECONFIG=~/.kube/config   the demo on that cluster (inventories/example)"
	@echo "make test            every quality gate, on clusters of its own (.work-test/)"
	@echo "make check           unit, sanity, lint: the quick loop"
	@echo "make demo-fleet      the demo on three embedded clusters at once (FLEET_DIR: .work-fleet/east, west, north)"
	@echo "make demo-fleet-down bring the fleet's clusters down"
	@echo "make cluster-up|cluster-down|cluster-status|cluster-build"

tools-mod:            ## regenerate the wrapper go.mod files from hack/versions.env
	$(PY) hack/cluster/gen_gomod.py

cluster-build:
	$(CLUSTER) build

cluster-up:
	$(CLUSTER) up

cluster-down:
	$(CLUSTER) down

cluster-status:
	@$(CLUSTER) status

# Every gate, with a timing table at the end (hack/gates.py): the static gates beside the cluster
# build, then the integration lanes and molecule side by side, each on an embedded cluster of its own.
test: venv collection-link
	$(VENV)/bin/python hack/gates.py test

check: venv collection-link
	$(VENV)/bin/python hack/gates.py check

# Only the integration lanes (each brings its cluster up and down).
integration: venv collection-link
	$(VENV)/bin/python hack/gates.py integration

# molecule: destroy, create (the cluster tool), converge (site.yml), idempotence, verify, destroy,
# on its own cluster (FLUID_CLUSTER_WORKDIR, relative to this folder, default .work-test/molecule).
molecule: venv collection-link
	cd $(ROOT) && PATH=$(VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_PATH) \
	  FLUID_CLUSTER_WORKDIR=$${FLUID_CLUSTER_WORKDIR:-.work-test/molecule} molecule test

# The whole demo (Fluid's original demo as playbooks): always on the embedded cluster
# (inventories/local), whatever $$KUBECONFIG points at, unless asked for a cluster of your own:
#   make demo DEMO_KUBECONFIG=~/.kube/config     (inventories/example, that kubeconfig)
DEMO_KUBECONFIG ?=
DEMO_KUBECONFIG_FILE = $(abspath $(patsubst ~/%,$(HOME)/%,$(strip $(DEMO_KUBECONFIG))))
demo: venv collection-link
ifneq ($(strip $(DEMO_KUBECONFIG)),)
	@test -f "$(DEMO_KUBECONFIG_FILE)" || { echo "make demo: DEMO_KUBECONFIG=$(DEMO_KUBECONFIG): no such file"; exit 1; }
	cd $(ROOT) && KUBECONFIG=$(DEMO_KUBECONFIG_FILE) ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_PATH) \
	  $(VENV)/bin/ansible-playbook -i inventories/example playbooks/site.yml -e k8s_kubeconfig=$(DEMO_KUBECONFIG_FILE)
else
	$(MAKE) cluster-up
	cd $(ROOT) && env -u KUBECONFIG ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_PATH) $(VENV)/bin/ansible-playbook \
	  -i inventories/local playbooks/site.yml
endif

# The demo on several clusters at once: one embedded cluster per name in FLEET_NAMES (own folder
# $(FLEET_DIR)/<name>, own ports), an inventory with one host per cluster ($(FLEET_DIR)/inventory),
# then site.yml and status.yml on all of them in parallel; the pages go to $(FLEET_DIR).
FLEET_DIR ?= .work-fleet
FLEET_NAMES ?= east west north
FLEET := env -u KUBECONFIG FLUID_FLEET_WORKDIR=$(FLEET_DIR) $(PY) $(ROOT)/hack/cluster/fleet.py
demo-fleet: venv collection-link
	cd $(ROOT) && $(FLEET) up $(FLEET_NAMES)
	cd $(ROOT) && env -u KUBECONFIG ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_PATH) $(VENV)/bin/ansible-playbook \
	  -i $(FLEET_DIR)/inventory playbooks/site.yml -e status_report_file=$(abspath $(FLEET_DIR))/fluid-status.html
	cd $(ROOT) && env -u KUBECONFIG ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_PATH) $(VENV)/bin/ansible-playbook \
	  -i $(FLEET_DIR)/inventory playbooks/status.yml -e status_report_file=$(abspath $(FLEET_DIR))/fluid-status.html

demo-fleet-down:
	cd $(ROOT) && $(FLEET) down

# Benchmarks on a cluster of their own (.work-bench, 1000 extra KWOK nodes), brought up
# and down by bench/run.py; writes bench/RESULTS.md. BENCH_ARGS: e.g. --runs 3 --only wait,labels
FLUID_CLUSTER_WORKDIR_BENCH ?= $(ROOT)/.work-bench
bench: venv collection-link
	cd $(ROOT) && FLUID_CLUSTER_WORKDIR=$(FLUID_CLUSTER_WORKDIR_BENCH) $(VENV)/bin/python bench/run.py $(BENCH_ARGS)

# Execution environment build context for AWX (building the image needs podman or docker), from
# execution-environment.yml with this work tree's collection (a tarball built here) instead of
# Galaxy's release (hack/ee_local.py).
EE_CONTEXT ?= context
ee: venv
	rm -rf .cache/ee $(EE_CONTEXT) && mkdir -p .cache/ee
	$(VENV)/bin/ansible-galaxy collection build --force --output-path .cache/ee $(ROOT) >/dev/null
	$(VENV)/bin/python hack/ee_local.py .cache/ee/cloudnative-fluid-*.tar.gz .cache/ee/execution-environment.yml
	$(VENV)/bin/ansible-builder create -f .cache/ee/execution-environment.yml --context $(EE_CONTEXT) -v 2
	@echo "$(EE_CONTEXT)/ is ready: 'ansible-builder build -t cloudnative-fluid-ee' needs a container engine (none here)"

# The execution environment's build context, made in a temporary folder and checked (tests/ee).
ee-test: venv
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/ee
