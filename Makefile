# liveiso.customizer: developer entry points. Everything installs what it needs itself.
#   make demo   - per-site Live ISOs for inventories/example from the Debian base image (build/fleet)
#   make test   - unit, sanity, integration (root: loop mounts, chroots) tests
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= $(CURDIR)/.venv
PY          := $(VENV)/bin/python
BUILD       := $(CURDIR)/build
COLL_ROOT   := $(BUILD)/collections
COLL_LINK   := $(COLL_ROOT)/ansible_collections/liveiso/customizer
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/liveiso/customizer
SHARED      ?= $(abspath $(CURDIR)/../shared)
PYTEST_ARGS ?=

export LIVEISO_CACHE_DIR ?= /var/cache/liveiso-customizer
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT)
export ANSIBLE_NOCOLOR := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Debian packages from bindep.txt (dpkg platform), plus what the tests and demo use.
HOST_PACKAGES := $(shell sed -n 's/^\([a-z0-9.+-]*\) .*platform:dpkg.*/\1/p' bindep.txt) python3-venv shellcheck openssh-client

.PHONY: help host-deps venv collection unit integration sanity lint ee molecule test demo galaxy-build clean \
	base-image check-leaks

help:
	@sed -n 's/^#   //p' Makefile

host-deps:
	@missing=$$(for p in $(HOST_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing host packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

collection:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(CURDIR) $(COLL_LINK)

base-image: host-deps venv collection
	$(PY) tests/fixtures/base_image.py

unit: venv collection
	$(PY) -m pytest tests/unit -q $(PYTEST_ARGS)

integration: host-deps venv collection
	$(PY) -m pytest tests/integration -q -rs --durations=12 $(PYTEST_ARGS)

# ansible-test wants the collection at .../ansible_collections/<ns>/<name> as a real directory, and
# downloads pip's bootstrap script, which is unreachable here: a local stand-in is put in its cache.
sanity: venv
	@rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	@git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
	  | tar --null -T - -cf - | tar -xf - -C $(SANITY_ROOT)
	@mkdir -p $(HOME)/.ansible/test/cache
	@if [ -f $(SHARED)/tools/ansible-test-get-pip.py ]; then \
	  for v in 24_2 25_0 25_1 25_2 25_3; do \
	    cp $(SHARED)/tools/ansible-test-get-pip.py $(HOME)/.ansible/test/cache/get_pip_$$v.py; done; fi
	cd $(SANITY_ROOT) && git init -q && git add -A && PATH=$(VENV)/bin:$$PATH ansible-test sanity --local --requirements --python 3.11

galaxy-build: venv
	@mkdir -p $(BUILD)/dist
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(BUILD)/dist .

lint: venv collection
	PATH=$(VENV)/bin:$$PATH ansible-lint roles playbooks

ee: venv galaxy-build
	PATH=$(VENV)/bin:$$PATH ansible-builder create -f execution-environment.yml -c $(BUILD)/ee-context

# The fleet scenario: site ISOs from inventories/example, two hosts booted under qemu, checked over SSH.
molecule: host-deps venv collection
	PATH=$(VENV)/bin:$$PATH molecule test -s fleet

check-leaks:
	@if losetup -a | grep -q .; then echo "leaked loop devices:"; losetup -a; exit 1; fi
	@if findmnt -rn -o TARGET | grep -E '^/(tmp|var/tmp|work|root|var/cache/liveiso-customizer)/'; then echo "leaked mounts (above)"; exit 1; fi
	@echo "no leaked loop devices or mounts"

test: host-deps venv collection
	$(PY) -m pytest tests/unit -q $(PYTEST_ARGS)
	$(MAKE) --no-print-directory galaxy-build sanity lint ee
	$(PY) -m pytest tests/integration -q -rs --durations=12 $(PYTEST_ARGS)
	$(MAKE) --no-print-directory molecule
	$(MAKE) --no-print-directory check-leaks

demo: host-deps venv collection
	@mkdir -p $(BUILD)
	$(PY) tests/fixtures/base_image.py > $(BUILD)/.base-dir
	$(VENV)/bin/ansible-playbook -i inventories/example playbooks/site_isos.yml -e ansible_python_interpreter=$(PY) \
	  -e site_iso_base_image=$$(cat $(BUILD)/.base-dir)/base.qcow2 -e site_iso_output_dir=$(BUILD)/fleet
	@echo "ISOs and manifest: $(BUILD)/fleet"

# The single-image demo: customize the base image, then one Live ISO with a seed (build/demo).
demo-image: host-deps venv collection
	@mkdir -p $(BUILD)
	$(PY) tests/fixtures/base_image.py > $(BUILD)/.base-dir
	$(VENV)/bin/ansible-playbook -i localhost, -c local playbooks/demo.yml \
	  -e ansible_python_interpreter=$(PY) -e base_image=$$(cat $(BUILD)/.base-dir)/base.qcow2 -e output_dir=$(BUILD)/demo

clean:
	rm -rf $(BUILD) .pytest_cache
