# SPDX-License-Identifier: GPL-3.0-or-later
"""The tarball `ansible-galaxy collection build` makes: what it ships, what it leaves out, and that its
playbooks run by FQCN once it is installed.

Developer-only files (build_ignore in galaxy.yml) must be absent; the license, README, changelog, metadata and
content must be present. Needs the source tree (galaxy.yml is not in an installed collection).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# Not in the tarball: tooling, CI, caches, measurements, the repository's EE recipe, unreleased fragments,
# and the molecule harness (see galaxy.yml's build_ignore for why).
ABSENT = ("Makefile", "pytest.ini", "requirements-dev.txt", ".ansible-lint", ".ansible-lint-ignore", ".gitignore",
          "mypy.ini", "ruff.toml", ".mypy_cache/", ".ruff_cache/",
          ".ci/", "benchmarks/", "build/", ".venv/", ".pytest_cache/", ".git/", "changelogs/fragments/",
          "extensions/molecule/", "execution-environment.yml", "meta/ee-requirements.yml", "tests/output/")
PRESENT = ("COPYING", "README.md", "CHANGELOG.rst", "MANIFEST.json", "FILES.json", "bindep.txt",
           "meta/runtime.yml", "changelogs/changelog.yaml", "changelogs/config.yaml",
           "plugins/modules/image_customize.py", "plugins/modules/liveos_iso.py", "plugins/modules/cloudinit_seed.py",
           "plugins/doc_fragments/build.py", "plugins/module_utils/", "plugins/filter/fleet.py",
           "roles/build_host/tasks/main.yml", "roles/cloudinit_config/tasks/main.yml", "roles/site_iso/tasks/main.yml",
           "playbooks/site_isos.yml", "playbooks/demo.yml", "inventories/example/hosts.yml",
           "docs/configuration.md", "tests/unit/", "tests/integration/")
# Everything at the tarball's top level: a new file or directory there (a tool's config, say) fails
# test_top_level_is_known until it is either listed here or added to build_ignore.
TOP_LEVEL = {"MANIFEST.json", "FILES.json", "README.md", "COPYING", "CHANGELOG.rst", "bindep.txt", "changelogs",
             "docs", "extensions", "inventories", "meta", "playbooks", "plugins", "roles", "tests"}
GPL3_SHA256 = "3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986"  # the FSF's gpl-3.0.txt


def tool(name):
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.path.exists(beside) else shutil.which(name)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    if not os.path.exists(os.path.join(ROOT, "galaxy.yml")):
        pytest.skip("not a source tree (no galaxy.yml): an installed collection is already built")
    out = str(tmp_path_factory.mktemp("dist"))
    proc = subprocess.run([tool("ansible-galaxy"), "collection", "build", "--output-path", out, ROOT],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    assert proc.returncode == 0, proc.stdout.decode()
    (name,) = [f for f in os.listdir(out) if f.endswith(".tar.gz")]
    return os.path.join(out, name)


@pytest.fixture(scope="module")
def members(tarball):
    with tarfile.open(tarball) as tar:
        return {m.name.rstrip("/") + ("/" if m.isdir() else "") for m in tar.getmembers()}


def present(members, path):
    if path.endswith("/"):
        return any(m.startswith(path) for m in members)
    return path in members


@pytest.mark.parametrize("path", ABSENT)
def test_developer_only_files_are_not_shipped(members, path):
    assert not present(members, path), "%s is in the tarball: add it to build_ignore in galaxy.yml" % path


@pytest.mark.parametrize("path", PRESENT)
def test_collection_files_are_shipped(members, path):
    assert present(members, path), "%s is missing from the tarball" % path


def test_top_level_is_known(members):
    unknown = sorted({m.split("/")[0] for m in members} - TOP_LEVEL)
    assert not unknown, "new at the tarball's top level: %s (developer-only? add to build_ignore in galaxy.yml; " \
                        "else to TOP_LEVEL here)" % unknown


def test_no_bytecode_or_nested_tarballs(members):
    assert not [m for m in members if m.endswith((".pyc", ".tar.gz")) or "__pycache__" in m]


def test_copying_is_the_gpl3_text_and_the_manifest_says_so(tarball):
    with tarfile.open(tarball) as tar:
        copying = tar.extractfile("COPYING").read()
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert hashlib.sha256(copying).hexdigest() == GPL3_SHA256, "COPYING is not the full GPL-3.0 text"
    assert manifest["collection_info"]["license"] == ["GPL-3.0-or-later"]


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory):
    """The tarball installed as a user would: ansible-galaxy collection install, no symlink to the source."""
    path = str(tmp_path_factory.mktemp("installed"))
    # --force and this path only: a copy installed elsewhere (ansible-lint puts one in ~/.ansible) must not count
    proc = subprocess.run([tool("ansible-galaxy"), "collection", "install", "--offline", "--force", "-p", path, tarball],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=path),
                          check=False)
    assert proc.returncode == 0, proc.stdout.decode()
    return path


@pytest.mark.parametrize("playbook, inventory", [
    ("liveiso.customizer.site_isos", "inventories/example"),
    ("liveiso.customizer.demo", "localhost,"),
])
def test_playbooks_run_by_fqcn_from_the_installed_tarball(installed, playbook, inventory):
    collection = os.path.join(installed, "ansible_collections", "liveiso", "customizer")
    if "," not in inventory:
        inventory = os.path.join(collection, inventory)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed, ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([tool("ansible-playbook"), playbook, "-i", inventory, "--syntax-check"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=installed, check=False)
    output = proc.stdout.decode()
    assert proc.returncode == 0, output
    # the playbook that ran is the installed collection's, found by its FQCN
    assert "playbook: %s/playbooks/%s.yml" % (collection, playbook.rsplit(".", 1)[1]) in output, output
