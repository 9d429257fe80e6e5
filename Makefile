# liveiso.customizer: developer entry points. Everything installs what it needs itself.
#   make demo   - per-site Live ISOs for inventories/example from the Debian base image (build/fleet)
#   make test   - unit, sanity, lint, conventions, integration (root: loop mounts, chroots) tests
#   make conventions - the collection-ecosystem checks: changelog, galaxy-importer, ansible-test units
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= $(CURDIR)/.venv
PY          := $(VENV)/bin/python
BUILD       := $(CURDIR)/build
COLL_ROOT   := $(BUILD)/collections
COLL_LINK   := $(COLL_ROOT)/ansible_collections/liveiso/customizer
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/liveiso/customizer
PYVER       = $(shell $(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
SHARED      ?= $(abspath $(CURDIR)/../shared)
PYTEST_ARGS ?=
# ansible-core versions meta/runtime.yml claims (requires_ansible), each sanity-tested on this Python. The newest
# is .venv's (requirements-dev.txt); each other one gets a venv of its own, build/venv-core-<version>.
CORE_VERSIONS ?= 2.18 2.19
CORE_NEWEST = $(lastword $(CORE_VERSIONS))
IMPORTER_VENV := $(BUILD)/venv-importer
IMPORTER_REQ := galaxy-importer==0.4.44
TARBALL = $(BUILD)/dist/liveiso-customizer-$(shell sed -n 's/^version: *//p' galaxy.yml).tar.gz

export LIVEISO_CACHE_DIR ?= /var/cache/liveiso-customizer
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT)
export ANSIBLE_NOCOLOR := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Debian packages from bindep.txt (dpkg platform), plus what the tests and demo use.
HOST_PACKAGES := $(shell sed -n 's/^\([a-z0-9.+-]*\) .*platform:dpkg.*/\1/p' bindep.txt) python3-venv shellcheck openssh-client

.PHONY: help host-deps venv collection unit integration sanity sanity-copy units lint ee molecule test demo galaxy-build typecheck \
	clean base-image check-leaks conventions changelog-lint galaxy-importer

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

# ansible-test wants the collection at .../ansible_collections/<ns>/<name> as a real directory: a copy of the
# tracked and untracked-but-not-ignored files under build/sanity, a git repository of its own.
sanity-copy:
	@rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	@git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
	  | tar --null -T - -cf - | tar -xf - -C $(SANITY_ROOT)
	@cd $(SANITY_ROOT) && git init -q && git add -A

$(BUILD)/venv-core-%/.installed:
	python3 -m venv $(@D)
	$(@D)/bin/python -m pip install -q 'ansible-core>=$*,<$(shell echo $* | awk -F. '{print $$1 "." $$2 + 1}')'
	touch $@

# ansible-test bootstraps pip in its venvs with a get-pip script it downloads, unreachable here: the local
# stand-in goes into its cache under the name that this ansible-test looks for (get_pip_<its pip version>.py).
define stand_in_get_pip
pip=$$($(1)/bin/python -c 'import types; from ansible_test._internal.python_requirements import get_venv_packages; \
  print(get_venv_packages(types.SimpleNamespace(version="$(PYVER)"))["pip"])') \
  || { echo "cannot tell which pip the ansible-test of $(1) bootstraps"; exit 1; }; \
if [ -f $(SHARED)/tools/ansible-test-get-pip.py ]; then mkdir -p $(HOME)/.ansible/test/cache && \
  cp $(SHARED)/tools/ansible-test-get-pip.py $(HOME)/.ansible/test/cache/get_pip_$${pip//./_}.py; fi
endef

# ansible-test sanity with each claimed ansible-core (no ignore files: tests/sanity/ has none).
sanity: venv $(foreach v,$(filter-out $(CORE_NEWEST),$(CORE_VERSIONS)),$(BUILD)/venv-core-$(v)/.installed) sanity-copy
	@failed=; for v in $(CORE_VERSIONS); do \
	  if [ $$v = $(CORE_NEWEST) ]; then venv=$(VENV); else venv=$(BUILD)/venv-core-$$v; fi; \
	  have=$$($$venv/bin/python -c 'from ansible.release import __version__ as v; print(".".join(v.split(".")[:2]))'); \
	  if [ "$$have" != "$$v" ]; then echo "$$venv has ansible-core $$have, not $$v: fix CORE_VERSIONS"; exit 1; fi; \
	  $(call stand_in_get_pip,$$venv); \
	  echo "== ansible-test sanity with ansible-core $$($$venv/bin/python -c 'from ansible.release import __version__ as v; print(v)')"; \
	  (cd $(SANITY_ROOT) && PATH=$$venv/bin:$$PATH ansible-test sanity --local --requirements --python $(PYVER)) \
	    || failed="$$failed $$v"; \
	done; \
	if [ -n "$$failed" ]; then echo "ansible-test sanity failed with ansible-core$$failed"; exit 1; fi

# ansible-test units (tests/unit/**, ansible-test's own pytest set-up) in the same copy, with .venv's ansible-core.
units: venv sanity-copy
	@$(call stand_in_get_pip,$(VENV))
	cd $(SANITY_ROOT) && PATH=$(VENV)/bin:$$PATH ansible-test units --local --requirements --python $(PYVER)

galaxy-build: venv
	@mkdir -p $(BUILD)/dist
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(BUILD)/dist .

# ansible-lint over the whole collection (production profile; settings in .ansible-lint; no finding is ignored).
# It installs the collection it lints into $$ANSIBLE_HOME/collections: build/ansible-lint, not ~/.ansible.
lint: venv collection
	PATH=$(VENV)/bin:$$PATH ANSIBLE_HOME=$(BUILD)/ansible-lint ansible-lint --nocolor

# changelogs/: fragments and changelog.yaml valid, CHANGELOG.rst what changelog.yaml generates.
changelog-lint: venv
	$(VENV)/bin/antsibull-changelog lint
	$(VENV)/bin/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
	@rm -rf $(BUILD)/changelog && mkdir -p $(BUILD)/changelog && cp -r changelogs galaxy.yml $(BUILD)/changelog/
	cd $(BUILD)/changelog && $(VENV)/bin/antsibull-changelog generate
	@cmp -s $(BUILD)/changelog/CHANGELOG.rst CHANGELOG.rst \
	  || { echo "CHANGELOG.rst is not what changelogs/changelog.yaml generates: run antsibull-changelog generate"; exit 1; }

# Galaxy's import checks on the built tarball (settings: .ci/galaxy-importer.cfg, no container engine needed);
# any WARNING or ERROR line fails.
$(IMPORTER_VENV)/.installed:
	python3 -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/python -m pip install -q '$(IMPORTER_REQ)'
	touch $@

galaxy-importer: galaxy-build $(IMPORTER_VENV)/.installed
	@mkdir -p $(BUILD)/importer
	cd $(BUILD)/importer && GALAXY_IMPORTER_CONFIG=$(CURDIR)/.ci/galaxy-importer.cfg PATH=$(IMPORTER_VENV)/bin:$$PATH \
	  $(IMPORTER_VENV)/bin/python -m galaxy_importer.main $(TARBALL) > importer.log 2>&1; rc=$$?; cat importer.log; \
	  if [ $$rc -ne 0 ] || grep -qE '^(WARNING|ERROR|CRITICAL)' importer.log; then \
	    echo "galaxy-importer: warnings or errors above (rc $$rc)"; exit 1; fi
	@cd $(BUILD)/importer && $(IMPORTER_VENV)/bin/python -c 'import json, sys; \
	  blob = json.load(open("importer_result.json"))["docs_blob"]["contents"]; \
	  bad = [c["content_name"] for c in blob if c["content_type"] == "module" and not c.get("doc_strings")]; \
	  sys.exit("galaxy-importer found no documentation for the modules: %s" % bad if bad else 0)'

# The checks of the collection as a Galaxy collection, short of the long integration tests.
conventions: changelog-lint galaxy-importer units typecheck

# mypy --strict on the library (mypy.ini); the collection is read through build/collections.
typecheck: venv collection
	cd $(COLL_ROOT) && $(abspath $(VENV))/bin/mypy --config-file $(CURDIR)/mypy.ini \
	  -p ansible_collections.liveiso.customizer.plugins.module_utils

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
	$(MAKE) --no-print-directory galaxy-build sanity lint ee conventions
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
