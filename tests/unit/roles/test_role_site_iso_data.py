# SPDX-License-Identifier: GPL-3.0-or-later
"""The site_iso role's data on the example inventory, through ansible-playbook, without building an ISO.

A play runs the role's own tasks that compute and write data, taken from roles/site_iso/tasks/main.yml as
they are: the checks, the units, each host's seed (the cloudinit_config role, offline), the media files of
each site ISO (the expression of the liveos_iso task, on the same loop) and the manifest (from made-up build
results). So the filters are exercised with Ansible's real groups and hostvars (templated lazily, tagged values).
The role itself runs too, up to its input checks: the missing base image and the deprecated variable.
"""

import json
import importlib
import os
import shutil
import subprocess
import sys

import yaml


# the collection root, wherever this file sits (the checkout, or ansible-test's copy of it)
REPO = os.path.realpath(list(importlib.import_module("ansible_collections.liveiso.customizer").__path__)[0])
EXAMPLE = os.path.join(REPO, "inventories", "example")
ROLE = os.path.join(REPO, "roles", "site_iso")

MACS = {
    "bond-c1": "52-54-00-30-01-01", "bond-c2": "52-54-00-30-02-01",
    "dhcp-a1": "52-54-00-10-00-01", "dhcp-a2": "52-54-00-10-00-02",
    "static-b1": "52-54-00-20-00-01", "static-b2": "52-54-00-20-00-02",
}
SITES = {"site_bond": ["bond-c1", "bond-c2"], "site_dhcp": ["dhcp-a1", "dhcp-a2"],
         "site_static": ["static-b1", "static-b2"]}


def role_tasks():
    with open(os.path.join(ROLE, "tasks", "main.yml")) as handle:
        return {task["name"]: task for task in yaml.safe_load(handle)}


def data_play(out):
    """The role's data tasks, unchanged, with the ISO builds replaced by writing what they would get."""
    tasks = role_tasks()
    start = tasks["Start the site ISO builds (the fast path, from the base ISO)"]
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    return [{
        "hosts": "build_hosts", "gather_facts": False,
        "vars": dict(defaults, site_iso_base={"output": out + "/base.iso", "changed": False}),
        "tasks": [
            tasks["Warn about deprecated variables"],
            tasks["Check the inputs"],
            tasks["Work out the sites of this build host"],
            tasks["Warn when a site ISO carries the secrets of several hosts"],
            tasks["Render and validate each host's seed"],
            {"name": "What each site ISO build gets", "loop": start["loop"],
             "vars": {"site_files": start["liveiso.customizer.liveos_iso"]["iso"]["additionalFiles"]},
             "ansible.builtin.copy": {"dest": out + "/{{ item.name }}.files.json", "mode": "0644",
                                      "content": "{{ site_files | to_json }}"}},
            {"name": "Made-up build results", "loop": "{{ site_iso_units }}",
             "ansible.builtin.set_fact": {"site_iso_builds": {"results": (
                 "{{ site_iso_builds.results | default([]) + [{'item': {'item': item}, 'changed': true,"
                 " 'output': site_iso_output_dir ~ '/' ~ item.name ~ '.iso', 'sha256': none, 'size': 3145728,"
                 " 'build_seconds': 1.25, 'build_path': 'fast', 'copy_method': 'copy',"
                 " 'volume_label': item.name | upper}] }}")}}},
            tasks["Write the manifest of this build host's ISOs"],
        ],
    }]


def run(tmp_path, play, inventory=EXAMPLE, extra=()):
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory), str(playbook),
            "-e", "ansible_python_interpreter=" + sys.executable]
    for item in extra:
        argv += ["-e", item]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                                   ANSIBLE_DEPRECATION_WARNINGS="true"))
    return proc.returncode, proc.stdout.decode()


def expected_files(seeds, hosts):
    files = []
    for host in hosts:
        mac = MACS[host]
        files += [{"source": "%s/%s/%s" % (seeds, host, name),
                   "destination": "/cloud-init-data/by-mac/%s/%s" % (mac, name)}
                  for name in ("meta-data", "user-data", "network-config")]
        files.append({"content": host + "\n", "destination": "/cloud-init-data/by-mac/%s/host" % mac})
    table = "".join("%s %s\n" % (MACS[host], host) for host in hosts) or "\n"
    return files + [{"content": table, "destination": "/cloud-init-data/hosts.txt"}]


def expected_site(out, name, site, hosts, build_host="localhost"):
    return {"build_host": build_host, "build_path": "fast", "copy_method": "copy", "hosts": hosts,
            "iso": "%s/%s.iso" % (out, name), "name": name, "seconds": 1.25, "sha256": None, "site": site,
            "size": 3145728, "volume_label": name.upper()}


def test_site_iso_data_per_group(tmp_path):
    out = str(tmp_path / "out")
    rc, log = run(tmp_path, data_play(out),
                  extra=["site_iso_output_dir=" + out, "site_iso_validate_seeds=false",
                         "site_iso_base_image=/nonexistent/base.qcow2"])
    assert rc == 0, log[-4000:]
    assert "DEPRECATION" not in log
    assert "can read the secrets" not in log  # the example's seeds hold SSH public keys only
    for name, hosts in SITES.items():
        with open(os.path.join(out, name + ".files.json")) as handle:
            assert json.load(handle) == expected_files(out + "/seeds", hosts), name
        for host in hosts:
            assert sorted(os.listdir(os.path.join(out, "seeds", host))) == ["meta-data", "network-config", "user-data"]
    with open(os.path.join(out, "manifest.json")) as handle:
        text = handle.read()
    manifest = json.loads(text)
    assert manifest == {"base_iso": out + "/base.iso", "base_sha256": "", "per": "group",
                        "sites": [expected_site(out, name, name, hosts) for name, hosts in sorted(SITES.items())]}
    # to_nice_json: sorted keys, 4 spaces, a final newline
    assert text == json.dumps(manifest, sort_keys=True, indent=4) + "\n"


def test_site_iso_data_per_host_on_two_build_hosts(tmp_path):
    inventory = tmp_path / "inventory"
    shutil.copytree(EXAMPLE, inventory)
    with open(inventory / "hosts.yml") as handle:
        hosts = yaml.safe_load(handle)
    hosts["all"]["children"]["build_hosts"]["hosts"] = {
        name: {"ansible_connection": "local"} for name in ("builder-1", "builder-2")}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    out = str(tmp_path / "out") + "/{{ inventory_hostname }}"
    rc, log = run(tmp_path, data_play(out), inventory,
                  extra=["site_iso_output_dir=" + out, "site_iso_validate_seeds=false", "site_iso_per=host",
                         "site_iso_base_image=/nonexistent/base.qcow2"])
    assert rc == 0, log[-4000:]
    order = [host for site in sorted(SITES) for host in SITES[site]]
    site_of = {host: site for site, members in SITES.items() for host in members}
    for index, builder in enumerate(("builder-1", "builder-2")):
        mine = order[index::2]
        base = str(tmp_path / "out" / builder)
        with open(os.path.join(base, "manifest.json")) as handle:
            manifest = json.load(handle)
        assert manifest["per"] == "host"
        assert manifest["sites"] == [expected_site(base, host, site_of[host], [host], builder) for host in mine]
        assert sorted(os.listdir(os.path.join(base, "seeds"))) == sorted(mine)
        for host in mine:
            with open(os.path.join(base, host + ".files.json")) as handle:
                assert json.load(handle) == expected_files(base + "/seeds", [host])


def role_play():
    return [{"hosts": "build_hosts", "gather_facts": False,
             "roles": [{"role": "liveiso.customizer.site_iso"}]}]


def test_role_without_base_image_stops_before_building(tmp_path):
    rc, log = run(tmp_path, role_play(), extra=["site_iso_output_dir=" + str(tmp_path / "out")])
    assert rc != 0 and "missing required arguments: site_iso_base_image" in log, log[-3000:]
    for empty in ('{"site_iso_base_image": ""}', '{"site_iso_base_image": null}'):
        rc, log = run(tmp_path, role_play(), extra=["site_iso_output_dir=" + str(tmp_path / "out"), empty])
        assert rc != 0 and "site_iso_base_image must name a disk image" in log, log[-3000:]
    assert not (tmp_path / "out").exists()


def test_role_warns_about_site_iso_parallel(tmp_path):
    rc, log = run(tmp_path, role_play(), extra=["site_iso_parallel=4", '{"site_iso_base_image": ""}'])
    assert rc != 0
    assert "[DEPRECATION WARNING]: site_iso_parallel is deprecated and has no effect (it is set to '4')" in log, log
    rc, log = run(tmp_path, role_play(), extra=["site_iso_parallel=2", '{"site_iso_base_image": ""}'])
    assert "DEPRECATION" not in log, log


def test_site_iso_warns_when_a_site_iso_carries_secrets(tmp_path):
    """A password hash in every seed: each site ISO lets its hosts read their neighbours' hashes."""
    out = str(tmp_path / "out")
    users = json.dumps({"cloudinit_users": [{"name": "ops", "hashed_password": "$6$salt$SECRETHASH"}]})
    rc, log = run(tmp_path, data_play(out), extra=["site_iso_output_dir=" + out, "site_iso_validate_seeds=false",
                                                   "site_iso_base_image=/nonexistent/base.qcow2", users])
    assert rc == 0, log[-4000:]
    flat = " ".join(log.split())
    assert "[WARNING]: A site ISO carries the seed of every host of its site" in flat, log[-4000:]
    assert "site_bond: bond-c1 (user-data users[1].passwd); bond-c2 (user-data users[1].passwd)" in flat
    assert "site_iso_per: host" in flat and "SECRETHASH" not in log
    rc, log = run(tmp_path, data_play(out), extra=["site_iso_output_dir=" + out, "site_iso_validate_seeds=false",
                                                   "site_iso_base_image=/nonexistent/base.qcow2", users,
                                                   "site_iso_per=host"])
    assert rc == 0 and "can read the secrets" not in log, log[-4000:]
