# cloudnative.fluid — two commands do everything on a fresh machine:
#   make demo   the seed's whole story (embedded cluster, or $KUBECONFIG if set)
#   make test   unit, sanity, lint, integration on the embedded cluster, molecule
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
include $(ROOT)/hack/versions.env
PY ?= python3.11
VENV := $(ROOT)/.venv
CLUSTER := $(PY) $(ROOT)/hack/cluster/cluster.py

include $(ROOT)/mk/collection.mk

.PHONY: help cluster-build cluster-up cluster-down cluster-status tools-mod test demo integration cluster-down-test
PYTEST := $(VENV)/bin/python -m pytest

help:
	@echo "make demo            seed story end to end (embedded cluster unless KUBECONFIG is set)"
	@echo "make test            every quality gate"
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

# Integration tests against the running embedded cluster (or KUBECONFIG_UNDER_TEST).
integration: venv cluster-up
	$(PYTEST) -p no:cacheprovider tests/integration -m "not teardown" -v --durations=15

# The last test: cluster-down leaves no process and no listening port.
cluster-down-test: venv
	$(PYTEST) -p no:cacheprovider tests/integration -m teardown -v

test: venv unit sanity lint integration cluster-down-test
	@echo "make test: all gates passed"
