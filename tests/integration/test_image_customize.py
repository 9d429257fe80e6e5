# SPDX-License-Identifier: GPL-3.0-or-later
"""image_customize on the real Debian base image, through ansible-playbook, inspected afterwards."""

import os
import stat

import pytest

from conftest import HERE, inspect_image, leaks, run_playbook, sha256

pytestmark = pytest.mark.root

DATA = os.path.join(HERE, "data")
TEST_HASH = "$6$N5lVvEoSbEY9u6Hh$"


def customize_logged(workdir, image, output, check=False, **options):
    """Run image_customize through ansible-playbook; return (its result, the playbook's output)."""
    task = {"name": "customize", "liveiso.customizer.image_customize": dict(image=image, output=output, **options)}
    results, log = run_playbook(workdir, [task], check=check)[1:]
    return results[0], log


def customize(workdir, image, output, check=False, **options):
    return customize_logged(workdir, image, output, check, **options)[0]


@pytest.fixture(scope="module")
def full_build(base_dir, tmp_path_factory):
    """The qcow2 base customized with every supported key (built once for the tests below)."""
    work = str(tmp_path_factory.mktemp("full"))
    image = os.path.join(base_dir, "base.qcow2")
    before = sha256(image)
    output = os.path.join(work, "custom.qcow2")
    result, log = customize_logged(work, image, output, config_file=os.path.join(DATA, "full", "config.yaml"),
                                   build_dir=os.path.join(work, "builds"))
    assert not result.get("failed"), result.get("msg")
    return {"work": work, "image": image, "input_sha": before, "output": output, "result": result, "log": log}


def test_full_config_result(full_build):
    result = full_build["result"]
    assert result["changed"] is True
    assert result["output_format"] == "qcow2" and result["input_format"] == "qcow2"
    assert result["sha256"] == sha256(full_build["output"])
    assert result["size"] == os.path.getsize(full_build["output"])
    names = [s["name"] for s in result["steps"]]
    assert names == ["copy-input", "mount-image", "install-packages", "set-hostname", "create-groups",
                     "configure-users", "copy-additional-dirs", "copy-additional-files", "configure-services",
                     "configure-modules", "set-kernel-command-line", "run-post-customization-scripts",
                     "run-finalize-customization-scripts", "unmount-image", "export-image"]
    assert all(s["seconds"] >= 0 for s in result["steps"])
    assert any("mtools copy" in n or "native" in n for n in result["notes"])


def test_input_unchanged_and_nothing_leaked(full_build):
    assert sha256(full_build["image"]) == full_build["input_sha"]
    assert leaks() == ("", [])
    leftovers = [n for n in os.listdir(full_build["work"]) if n.startswith(".")]
    assert leftovers == []
    builds = os.listdir(os.path.join(full_build["work"], "builds"))
    assert builds == ["custom.qcow2.build.log"]


def test_secret_hash_not_echoed(full_build):
    assert TEST_HASH not in full_build["log"]
    assert TEST_HASH not in str(full_build["result"])
    with open(os.path.join(full_build["work"], "builds", "custom.qcow2.build.log")) as handle:
        assert TEST_HASH not in handle.read()


def test_full_config_contents(full_build):
    with inspect_image(full_build["output"]) as img:
        # hostname
        assert img.read("/etc/hostname") == "customized-host\n"
        assert "127.0.1.1\tcustomized-host" in img.read("/etc/hosts")
        # packages: installed from the list and the installLists file, removed one purged
        assert img.dpkg_installed("hello") and img.exists("/usr/bin/hello")
        assert img.dpkg_installed("tree")
        assert not img.dpkg_installed("less") and not img.exists("/usr/bin/less")
        # services held during installs: policy-rc.d gone again
        assert not img.exists("/usr/sbin/policy-rc.d")
        # group and user
        assert "fleet:x:2500:" in img.read("/etc/group")
        passwd = [l for l in img.read("/etc/passwd").splitlines() if l.startswith("ops:")][0].split(":")
        assert passwd[2:4] == ["1500", "2500"] and passwd[5] == "/srv/ops"
        sudo = [l for l in img.read("/etc/group").splitlines() if l.startswith("sudo:")][0]
        assert "ops" in sudo.split(":")[3].split(",")
        shadow = [l for l in img.read("/etc/shadow").splitlines() if l.startswith("ops:")][0].split(":")
        assert shadow[1].startswith(TEST_HASH) and shadow[4] == "90"
        keys = img.read("/srv/ops/.ssh/authorized_keys")
        with open(os.path.join(DATA, "full", "files", "ops.pub")) as handle:
            assert handle.read().strip() in keys
        assert "second@test" in keys
        st = img.stat("/srv/ops/.ssh/authorized_keys")
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1500, 2500, 0o600)
        assert stat.S_IMODE(img.stat("/srv/ops/.ssh").st_mode) == 0o700
        # additionalDirs
        assert img.read("/opt/tree/top.txt") == "top file\n"
        assert img.read("/opt/tree/sub/nested.txt") == "nested file\n"
        assert stat.S_IMODE(img.stat("/opt/tree/sub").st_mode) == 0o750
        assert stat.S_IMODE(img.stat("/opt/tree/sub/nested.txt").st_mode) == 0o640
        # a symlink in the source tree is followed, as the reference copies it: a file with the target's bytes
        assert not os.path.islink(img.path("/opt/tree/link-to-top"))
        assert img.read("/opt/tree/link-to-top") == "top file\n"
        # additionalFiles (list form)
        assert img.read("/etc/motd") == "Welcome to a customized image\n"
        assert stat.S_IMODE(img.stat("/etc/motd").st_mode) == 0o640
        assert img.read("/opt/inline/content.txt") == "inline content\n"
        assert stat.S_IMODE(img.stat("/opt/inline/content.txt").st_mode) == 0o600
        # services
        assert img.exists("/etc/systemd/system/multi-user.target.wants/systemd-networkd.service")
        assert not img.exists("/etc/systemd/system/multi-user.target.wants/ssh.service")
        assert not img.exists("/etc/systemd/system/sshd.service")
        # modules
        assert "br_netfilter" in img.read("/etc/modules-load.d/modules-load.conf").split()
        assert "blacklist floppy" in img.read("/etc/modprobe.d/modules-disabled.conf")
        assert "options loop max_loop=16" in img.read("/etc/modprobe.d/module-options.conf")
        # kernel command line: grub.cfg linux line (';' quoted for GRUB) and /etc/default/grub
        linux = [l for l in img.read("/boot/grub/grub.cfg").splitlines() if l.strip().startswith("linux")][0]
        assert linux.endswith(" console=ttyS0,115200n8 quiet console=ttyS0 liveiso.test=1 "
                              "'ds=nocloud;s=file:///var/lib/cloud/seed/x/'")
        assert "liveiso.test=1" in img.read("/etc/default/grub")
        # scripts: arguments, environment, cwd /, host DNS during post, own resolv.conf before finalize
        assert img.read("/var/log/liveiso-post.txt") == "alpha|two words|hello-from-env|/\n"
        assert img.read("/etc/liveiso-post-content") == "post-content\n"
        assert img.read("/etc/liveiso-finalize").startswith("finalize-ran")
        assert not img.exists("/var/tmp/liveiso-customizer-scripts")
        assert not img.exists("/etc/resolv.conf.liveiso-saved")
        # the ESP still holds its boot files (written back or untouched)
        assert "configfile" in img.esp_read("/EFI/debian/grub.cfg")


def test_rerun_is_not_changed(full_build):
    mtime = os.stat(full_build["output"]).st_mtime_ns
    result = customize(full_build["work"], full_build["image"], full_build["output"],
                       config_file=os.path.join(DATA, "full", "config.yaml"))
    assert result["changed"] is False, result["msg"]
    assert result["sha256"] == full_build["result"]["sha256"]
    assert os.stat(full_build["output"]).st_mtime_ns == mtime
    # check mode agrees: nothing to do
    result = customize(full_build["work"], full_build["image"], full_build["output"], check=True,
                       config_file=os.path.join(DATA, "full", "config.yaml"))
    assert result["changed"] is False


def test_check_mode_reports_change_and_writes_nothing(full_build, tmp_path):
    output = str(tmp_path / "never.qcow2")
    result = customize(str(tmp_path), full_build["image"], output, check=True,
                       config={"os": {"hostname": "check-only"}})
    assert result["changed"] is True and not result.get("failed")
    assert [s["name"] for s in result["steps"]] == ["set-hostname"]
    assert sorted(os.listdir(str(tmp_path))) == sorted(n for n in os.listdir(str(tmp_path)) if n.endswith((".yml", ".json")))


@pytest.mark.parametrize("source,output_name,expected_format", [
    ("base.raw", "out.vhdx", "vhdx"),
    ("base.vhdx", "out.raw", "raw"),
    ("base.vhd", "out.vhd", "vhd"),
])
def test_input_and_output_formats(base_dir, tmp_path, source, output_name, expected_format):
    image = os.path.join(base_dir, source)
    before = sha256(image)
    output = str(tmp_path / output_name)
    result = customize(str(tmp_path), image, output, config_file=os.path.join(DATA, "mapform", "config.yaml"))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and result["output_format"] == expected_format
    assert sha256(image) == before
    with inspect_image(output) as img:
        assert img.read("/etc/hostname") == "mapform-host\n"
        assert img.read("/etc/liveiso/one.txt") == "map form file\n"
        assert stat.S_IMODE(img.stat("/etc/liveiso/one.txt").st_mode) == 0o600
        assert img.read("/etc/liveiso/one-copy.txt") == "map form file\n"
        assert img.read("/etc/liveiso-hostname-seen") == "mapform-host\n"
        assert "quiet-test=1" in img.read("/boot/grub/grub.cfg")
    assert leaks() == ("", [])


def test_failing_script_leaves_nothing_behind(base_dir, tmp_path):
    output = str(tmp_path / "fail.qcow2")
    config = {"os": {"hostname": "doomed"},
              "scripts": {"postCustomization": [
                  {"name": "breaks", "content": "for i in $(seq 1 30); do echo line-$i; done; exit 3"}]}}
    result = customize(str(tmp_path), os.path.join(base_dir, "base.qcow2"), output, config=config)
    assert result.get("failed")
    msg = result["msg"]
    assert "config.scripts.postCustomization[0] (breaks) failed with exit code 3" in msg
    assert "line-30" in msg and "line-11" in msg and "line-10 " not in msg + " "
    assert not os.path.exists(output) and not os.path.exists(output + ".liveiso.json")
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith(".")] == []
    assert leaks() == ("", [])


def test_bad_package_fails_clearly(base_dir, tmp_path):
    output = str(tmp_path / "pkg.qcow2")
    config = {"os": {"packages": {"install": ["liveiso-no-such-package"]}}}
    result = customize(str(tmp_path), os.path.join(base_dir, "base.qcow2"), output, config=config)
    assert result.get("failed")
    assert "config.os.packages.install" in result["msg"]
    assert "Unable to locate package liveiso-no-such-package" in result["msg"]
    assert leaks() == ("", [])


def test_config_error_names_key_path(base_dir, tmp_path):
    result = customize(str(tmp_path), os.path.join(base_dir, "base.qcow2"), str(tmp_path / "x.qcow2"),
                       config={"os": {"additionalFiles": [{"content": "x", "destination": "/etc/x",
                                                           "permissions": "999"}]}})
    assert result.get("failed")
    assert "config.os.additionalFiles[0].permissions: '999' is not an octal mode" in result["msg"]
