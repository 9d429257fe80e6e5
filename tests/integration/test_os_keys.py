# SPDX-License-Identifier: GPL-3.0-or-later
"""What the os and scripts keys do, as the reference does it, on the real Debian base image (issue 12).

One disk build (module fixture) carries every key checked here; the SELinux Live ISO is built and booted once.
"""

import os
import stat

import pytest
import yaml

from conftest import inspect_image, leaks, run_playbook, sha256

pytestmark = pytest.mark.root


def customize(workdir, **options):
    task = {"name": "customize", "liveiso.customizer.image_customize": options}
    return run_playbook(workdir, [task])[1][0]


def write_config(directory, config):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "config.yaml")
    with open(path, "w") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    return path


def semantics_tree(cfg):
    """The host files the semantics config names (a tree with a symlink, a password file, a script)."""
    os.makedirs(os.path.join(cfg, "tree", "sub"))
    with open(os.path.join(cfg, "tree", "a.txt"), "w") as handle:
        handle.write("a\n")
    os.chmod(os.path.join(cfg, "tree", "a.txt"), 0o600)
    with open(os.path.join(cfg, "tree", "sub", "b.txt"), "w") as handle:
        handle.write("b\n")
    os.symlink("a.txt", os.path.join(cfg, "tree", "link"))
    with open(os.path.join(cfg, "pw.txt"), "w") as handle:
        handle.write("plain-from-file\n")
    os.makedirs(os.path.join(cfg, "scripts"))
    with open(os.path.join(cfg, "scripts", "probe.sh"), "w") as handle:
        handle.write("set -e\ncp /_imageconfigs/resource.txt /etc/probe-resource\npwd > /etc/probe-cwd\n"
                     "if touch /_imageconfigs/written 2>/dev/null; then echo rw; else echo ro; fi > /etc/probe-mount\n")
    with open(os.path.join(cfg, "resource.txt"), "w") as handle:
        handle.write("from the config dir\n")


SEMANTICS = {
    "os": {
        "hostname": "",  # the reference treats an empty string as unset
        "users": [{"name": "filepw", "password": {"type": "plain-text-file", "value": "pw.txt"}}],
        "additionalDirs": [{"source": "tree", "destination": "opt/tree"}],  # relative: joined under /
        "additionalFiles": [
            {"content": "blacklist vfio\nblacklist floppy\n", "destination": "/etc/modprobe.d/modules-disabled.conf"},
            {"content": "options vfio a=1\n", "destination": "etc/modprobe.d/module-options.conf"},
        ],
        "modules": [{"name": "vfio", "loadMode": "always", "options": {"a": "2", "b": "Y"}}],
    },
    "scripts": {"postCustomization": [{"path": "scripts/probe.sh", "interpreter": ""}]},
}


@pytest.fixture(scope="module")
def semantics(base_dir, tmp_path_factory):
    work = str(tmp_path_factory.mktemp("oskeys"))
    cfg = os.path.join(work, "cfg")
    os.makedirs(cfg)
    semantics_tree(cfg)
    image = os.path.join(base_dir, "base.qcow2")
    before = sha256(image)
    output = os.path.join(work, "semantics.qcow2")
    result = customize(work, image=image, output=output, config_file=write_config(cfg, SEMANTICS))
    assert not result.get("failed"), result.get("msg")
    assert sha256(image) == before
    return {"result": result, "output": output, "cfg": cfg}


def test_additional_dirs_modes_and_symlinks(semantics):
    with inspect_image(semantics["output"]) as img:
        for rel in ("/opt/tree/a.txt", "/opt/tree/sub/b.txt", "/opt/tree/link"):
            st = os.lstat(img.path(rel))
            assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o755, rel  # childFilePermissions 755
        assert img.read("/opt/tree/link") == "a\n"  # the symlink followed, as the reference's copy does
        assert stat.S_IMODE(img.stat("/opt/tree/sub").st_mode) == 0o755


def test_modules_blacklist_lifted_and_options_merged(semantics):
    with inspect_image(semantics["output"]) as img:
        assert img.read("/etc/modprobe.d/modules-disabled.conf") == "blacklist floppy\n"
        assert img.read("/etc/modprobe.d/module-options.conf") == "options vfio a=2 b=Y\n"
        assert "vfio" in img.read("/etc/modules-load.d/modules-load.conf").split()


def test_scripts_see_the_config_dir_read_only(semantics):
    with inspect_image(semantics["output"]) as img:
        assert img.read("/etc/probe-resource") == "from the config dir\n"
        assert img.read("/etc/probe-cwd") == "/\n"
        assert img.read("/etc/probe-mount") == "ro\n"
        assert not img.exists("/_imageconfigs")
        assert [n for n in os.listdir(img.path("/tmp")) if n.startswith("liveiso-script")] == []
    assert not os.path.exists(os.path.join(semantics["cfg"], "written"))


def test_password_from_file_and_hostname_unset(semantics):
    with inspect_image(semantics["output"]) as img:
        shadow = [line for line in img.read("/etc/shadow").splitlines() if line.startswith("filepw:")][0]
        assert shadow.split(":")[1].startswith("$")  # a crypt hash of the file's password
        assert img.read("/etc/hostname") != ""
    assert "plain-from-file" not in repr(semantics["result"])
    # nothing of this build left behind (leaks() would also see other sessions' concurrent builds)
    work = os.path.dirname(semantics["output"])
    assert [n for n in os.listdir(work) if n.startswith(".")] == []
    assert work not in "".join(str(part) for part in leaks())
