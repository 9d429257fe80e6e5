# SPDX-License-Identifier: GPL-3.0-or-later
"""build_host's package lists are bindep.txt's, and the role picks them by os_family.

bindep.txt is the one list of host packages. roles/build_host/vars/Debian.yml holds its [platform:dpkg]
entries, vars/RedHat.yml its [platform:rpm] entries, in bindep's order, without the entries of a profile
(test): this test fails when they drift apart. The role's own fact and package tasks run through
ansible-playbook (gather_facts: false, nothing installed): os_family is gathered when unknown, the family's
list becomes build_host_packages_<apt|dnf>, a user's list still wins, and an unknown family fails clearly.
"""

import importlib
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml


# the collection root, wherever this file sits (the checkout, or ansible-test's copy of it)
REPO = os.path.realpath(list(importlib.import_module("ansible_collections.liveiso.customizer").__path__)[0])
ROLE = os.path.join(REPO, "roles", "build_host")
FAMILIES = {"Debian": ("dpkg", "build_host_default_packages_apt"),
            "RedHat": ("rpm", "build_host_default_packages_dnf")}

LINE_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9.+_-]*)\s*(?:\[(?P<selectors>[^\]]*)\])?")


def bindep_packages(platform, path=os.path.join(REPO, "bindep.txt")):
    """The packages bindep installs on the platform for the default profile, in file order."""
    packages = []
    with open(path) as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            match = LINE_RE.match(line)
            assert match, "bindep.txt: cannot read %r" % line
            selectors = (match.group("selectors") or "").split()
            platforms = [s[len("platform:"):] for s in selectors if s.startswith("platform:")]
            negated = [s[len("!platform:"):] for s in selectors if s.startswith("!platform:")]
            profiles = [s for s in selectors if not s.lstrip("!").startswith("platform:")]
            if [p for p in profiles if not p.startswith("!")]:
                continue  # only for a profile such as test
            if platforms and platform not in platforms or platform in negated:
                continue
            packages.append(match.group("name"))
    return packages


def test_bindep_parser(tmp_path):
    path = tmp_path / "bindep.txt"
    path.write_text("# comment\n\nall-platforms\ndeb-only [platform:dpkg]\nboth [platform:dpkg platform:rpm]\n"
                    "rpm-only [platform:rpm]  # trailing\ntest-only [platform:dpkg test]\nnot-rpm [!platform:rpm]\n")
    assert bindep_packages("dpkg", str(path)) == ["all-platforms", "deb-only", "both", "not-rpm"]
    assert bindep_packages("rpm", str(path)) == ["all-platforms", "both", "rpm-only"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_vars_files_are_bindep(family):
    platform, variable = FAMILIES[family]
    with open(os.path.join(ROLE, "vars", family + ".yml")) as handle:
        data = yaml.safe_load(handle)
    expected = bindep_packages(platform)
    assert expected, "bindep.txt has no %s packages" % platform
    assert data == {variable: expected}, (
        "roles/build_host/vars/%s.yml differs from bindep.txt's [platform:%s] entries; it should read:\n%s"
        % (family, platform, yaml.safe_dump({variable: expected}, default_flow_style=False)))
    # test-only entries stay out
    assert "debootstrap" not in data[variable] and "qemu-system-x86" not in data[variable]


def test_defaults_point_at_the_vars_lists():
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    assert defaults["build_host_packages_apt"] == "{{ build_host_default_packages_apt | default([]) }}"
    assert defaults["build_host_packages_dnf"] == "{{ build_host_default_packages_dnf | default([]) }}"
    assert defaults["build_host_extra_packages"] == [] and defaults["build_host_install"] is True


def package_play(tmp_path, pre_tasks=()):
    """A copy of the role whose package installs only show what they would install, and a play that runs it."""
    with open(os.path.join(ROLE, "tasks", "main.yml")) as handle:
        tasks = yaml.safe_load(handle)
    names = [task["name"] for task in tasks]
    first_install = names.index("Install the host packages (apt family)")
    shown = []
    for task in tasks[first_install:first_install + 2]:
        module = "ansible.builtin.apt" if "ansible.builtin.apt" in task else "ansible.builtin.dnf"
        shown.append({"name": task["name"], "when": [c for c in task["when"] if "build_host_uid" not in c],
                      "ansible.builtin.debug": {"msg": "WOULD INSTALL {{ (%s) | to_json }}"
                                                % task[module]["name"].strip("{} ")}})
    shown.append({"name": "Show os_family",
                  "ansible.builtin.debug": {"msg": "OS_FAMILY {{ ansible_facts['os_family'] | default('UNKNOWN') }}"}})
    role = tmp_path / "roles" / "build_host_under_test"
    for part in ("defaults", "vars", "meta"):
        shutil.copytree(os.path.join(ROLE, part), str(role / part))
    (role / "tasks").mkdir()
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump(tasks[:first_install] + shown, sort_keys=False))
    return [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "pre_tasks": list(pre_tasks), "roles": ["build_host_under_test"]}]


def run(tmp_path, play, extra=()):
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", str(playbook),
            "-e", "ansible_python_interpreter=" + sys.executable]
    for item in extra:
        argv += ["-e", item]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"),
                          cwd=str(tmp_path))
    return proc.returncode, proc.stdout.decode()


def would_install(log):
    found = re.findall(r'"msg": "WOULD INSTALL (\[.*\])"', log)
    return [yaml.safe_load(item.replace('\\"', '"')) for item in found]


def this_family():
    for family, marker in (("Debian", "/etc/debian_version"), ("RedHat", "/etc/redhat-release")):
        if os.path.exists(marker):
            return family
    return None


@pytest.mark.skipif(this_family() is None, reason="needs a Debian or RedHat family machine")
def test_role_gathers_os_family_and_installs_the_bindep_list(tmp_path):
    family = this_family()
    rc, log = run(tmp_path, package_play(tmp_path), ['{"build_host_extra_packages": ["ovmf"]}'])
    assert rc == 0, log[-3000:]
    assert "OS_FAMILY " + family in log
    platform, variable = FAMILIES[family]
    assert would_install(log) == [bindep_packages(platform) + ["ovmf"]]


@pytest.mark.skipif(this_family() != "Debian", reason="needs a Debian family machine")
def test_a_users_list_still_wins(tmp_path):
    rc, log = run(tmp_path, package_play(tmp_path), ['{"build_host_packages_apt": ["only-this"]}'])
    assert rc == 0, log[-3000:]
    assert would_install(log) == [["only-this"]]


def test_known_os_family_is_not_gathered_again_and_unknown_fails(tmp_path):
    known = [{"name": "A fact from an earlier gather",
              "ansible.builtin.set_fact": {"os_family": "Archlinux", "cacheable": True}}]
    rc, log = run(tmp_path, package_play(tmp_path, known))
    assert rc != 0
    assert "build_host installs packages on the Debian (apt) and RedHat (dnf) families only, not on Archlinux" in log
    # the setup task was skipped: the fact was known
    gather = r"TASK \[build_host_under_test : Gather the facts that pick the package manager[^\n]*\n"
    assert re.search(gather + r"skipping: \[localhost\]", log), log


def test_check_only_gathers_nothing_and_needs_no_known_family(tmp_path):
    rc, log = run(tmp_path, package_play(tmp_path), ["build_host_install=false"])
    assert rc == 0, log[-3000:]
    assert "OS_FAMILY UNKNOWN" in log and "WOULD INSTALL" not in log
