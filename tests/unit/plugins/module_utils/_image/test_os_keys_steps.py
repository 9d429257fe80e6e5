# SPDX-License-Identifier: GPL-3.0-or-later
"""The os keys of issue 12: selinux, imageHistory, bootloader.resetType, overlays, packages.snapshotTime and
removePackageManager, against a plain directory as image root and a recording chroot (no command runs)."""

import json
import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import (
    UNSUPPORTED,
    SELinuxMode,
    parse_config,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError, StepError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import Result
from ansible_collections.liveiso.customizer.plugins.module_utils._image import image_history, kernel_cmdline, selinux
from ansible_collections.liveiso.customizer.plugins.module_utils._image import steps as os_steps
from ansible_collections.liveiso.customizer.plugins.module_utils._image.boot_reset import (
    hard_reset,
    root_filesystem,
    shim_text,
    with_cmdline,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot
from ansible_collections.liveiso.customizer.plugins.module_utils._image.overlays import enable_overlays, fstab_line
from ansible_collections.liveiso.customizer.plugins.module_utils._image.package_extras import (
    remove_package_manager,
    snapshot_options,
    version_tuple,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.package_managers import Apt, Dnf, Tdnf, Zypper
from ansible_collections.liveiso.customizer.plugins.module_utils._image.steps import StepContext


def preview(data, *features):
    """``data`` with the reference's preview features that gate its keys (once the model knows previewFeatures)."""
    if "previewFeatures" not in UNSUPPORTED.get("config", frozenset()):
        data = dict(data, previewFeatures=list(features))
    return data


GRUB_CFG = ("menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz root=UUID=x ro console=ttyS0 security=apparmor "
            "enforcing=0 quiet\n\tinitrd\t/boot/initrd.img\n}\n")
DEFAULT_GRUB = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet selinux=0"\nGRUB_CMDLINE_LINUX="console=ttyS0,115200n8"\n'


class Recording(Chroot):
    def __init__(self, root, results=None):
        super().__init__(str(root))
        self.calls = []
        self.results = results or {}

    def run(self, argv, env=None, **kwargs):
        self.calls.append(list(argv))
        code, out = self.results.get(argv[0], (0, ""))
        return Result(list(argv), code, out, "", 0.0)


def image(root, files):
    for rel, text in files.items():
        path = os.path.join(str(root), rel.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)


def read(root, rel):
    with open(os.path.join(str(root), rel.lstrip("/"))) as handle:
        return handle.read()


# ------------------------------------------------------------------ selinux

@pytest.mark.parametrize("mode, args, value", [
    ("disabled", ("selinux=0",), "disabled"),
    ("permissive", ("security=selinux", "selinux=1"), "permissive"),
    ("enforcing", ("security=selinux", "selinux=1"), "enforcing"),
    ("force-enforcing", ("security=selinux", "selinux=1", "enforcing=1"), "enforcing"),
])
def test_selinux_mode_args_and_config_value(mode, args, value):
    assert SELinuxMode(mode).kernel_args == args and SELinuxMode(mode).config_value == value


def test_selinux_enforcing_replaces_arguments_everywhere(tmp_path):
    image(tmp_path, {"/boot/grub/grub.cfg": GRUB_CFG, "/etc/default/grub": DEFAULT_GRUB,
                     "/etc/kernel/cmdline": "root=x selinux=0\n",
                     "/etc/selinux/config": "# c\nSELINUX=permissive\nSELINUXTYPE=default\n"})
    ctx = StepContext(Chroot(str(tmp_path)), parse_config({"os": {"selinux": {"mode": "force-enforcing"}}}))
    os_steps.configure_selinux(ctx)
    assert kernel_cmdline.grub_cfg_args(read(tmp_path, "/boot/grub/grub.cfg")) == [
        "root=UUID=x", "ro", "console=ttyS0", "quiet", "security=selinux", "selinux=1", "enforcing=1"]
    default = read(tmp_path, "/etc/default/grub")
    assert 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"' in default
    assert 'GRUB_CMDLINE_LINUX="console=ttyS0,115200n8 security=selinux selinux=1 enforcing=1"' in default
    assert read(tmp_path, "/etc/kernel/cmdline") == "root=x security=selinux selinux=1 enforcing=1\n"
    assert read(tmp_path, "/etc/selinux/config") == "# c\nSELINUX=enforcing\nSELINUXTYPE=default\n"
    assert any("SELinux kernel arguments" in note for note in ctx.notes)


def test_selinux_without_policy_is_the_references_error(tmp_path):
    image(tmp_path, {"/boot/grub/grub.cfg": GRUB_CFG})
    ctx = StepContext(Chroot(str(tmp_path)), parse_config({"os": {"selinux": {"mode": "enforcing"}}}))
    with pytest.raises(StepError) as info:
        os_steps.configure_selinux(ctx)
    assert info.value.message.startswith("config.os.selinux.mode: SELinux is enabled but policy file is missing "
                                         "(file='/etc/selinux/config')")
    assert "selinux-basics, selinux-policy-default" in info.value.hint
    assert read(tmp_path, "/boot/grub/grub.cfg") == GRUB_CFG  # nothing changed


def test_selinux_disabled_without_policy_sets_selinux_0(tmp_path):
    image(tmp_path, {"/boot/grub/grub.cfg": GRUB_CFG})
    os_steps.configure_selinux(StepContext(Chroot(str(tmp_path)), parse_config({"os": {"selinux": {"mode": "disabled"}}})))
    assert kernel_cmdline.grub_cfg_args(read(tmp_path, "/boot/grub/grub.cfg"))[-1] == "selinux=0"
    assert "security=apparmor" not in read(tmp_path, "/boot/grub/grub.cfg")


def test_selinux_after_hard_reset_leaves_boot_args(tmp_path):
    image(tmp_path, {"/boot/grub/grub.cfg": GRUB_CFG, "/etc/selinux/config": "SELINUX=disabled\n"})
    config = parse_config({"os": {"selinux": {"mode": "enforcing"}, "bootloader": {"resetType": "hard-reset"}}})
    os_steps.configure_selinux(StepContext(Chroot(str(tmp_path)), config))
    assert read(tmp_path, "/boot/grub/grub.cfg") == GRUB_CFG
    assert read(tmp_path, "/etc/selinux/config") == "SELINUX=enforcing\n"


def test_labelled_mounts():
    mounts = ("/dev/loop3 /b/root ext4 rw 0 0\nproc /b/root/proc proc rw 0 0\n/dev/loop4 /b/root/boot/efi vfat rw 0 0\n"
              "/dev/loop5 /b/root/var xfs rw 0 0\n/dev/loop6 /b/root/usr ext4 ro 0 0\ntmpfs /b/root/run tmpfs rw 0 0\n"
              "/dev/loop7 /b/root/my\\040dir btrfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n")
    assert selinux.labelled_mounts("/b/root", mounts) == ["/", "/my dir", "/var"]
    overlay_root = "overlay /b/root overlay rw,lowerdir=/b/lower 0 0\n/dev/loop3 /b/lower ext4 ro 0 0\n"
    assert selinux.labelled_mounts("/b/root", overlay_root) == ["/"]  # a Live ISO build's root


def test_relabel_argv(tmp_path, monkeypatch):
    image(tmp_path, {"/etc/selinux/config": "SELINUX=enforcing\nSELINUXTYPE=default\n",
                     "/etc/selinux/default/contexts/files/file_contexts": "/.* system_u:object_r:default_t:s0\n",
                     "/usr/sbin/setfiles": ""})
    os.chmod(str(tmp_path / "usr" / "sbin" / "setfiles"), 0o755)
    binds = []

    class Bind(object):
        def __init__(self, source, target, bind=False, **kwargs):
            binds.append((source, target, bind))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(selinux, "mounted", Bind)
    monkeypatch.setattr(selinux, "labelled_mounts", lambda root, text: ["/", "/var"])
    chroot = Recording(tmp_path)
    assert selinux.relabel(chroot) == ["/", "/var"]
    fc = "/etc/selinux/default/contexts/files/file_contexts"
    assert chroot.calls == [["setfiles", "-m", "-r", "/run/liveiso-relabel", fc, "/run/liveiso-relabel"],
                            ["setfiles", "-m", "-r", "/run/liveiso-relabel", fc, "/run/liveiso-relabel/var"]]
    assert binds == [(str(tmp_path), str(tmp_path / "run" / "liveiso-relabel"), True),
                     (str(tmp_path / "var"), str(tmp_path / "run" / "liveiso-relabel" / "var"), True)]


# ------------------------------------------------------------------ image history

def test_image_history_appends_redacted_reproducible(tmp_path):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "motd").write_text("hi\n")
    config = parse_config({"os": {"hostname": "h", "additionalFiles": [{"source": "motd", "destination": "/etc/motd"}],
                                  "users": [{"name": "bob", "password": {"type": "plain-text", "value": "pw-123"}}]}},
                          str(tmp_path / "cfg"))
    root = tmp_path / "root"
    image(root, {image_history.HISTORY_FILE: '[{"timestamp": "old"}]'})
    image_history.write_history(Chroot(str(root)), config, epoch=0)
    text = read(root, image_history.HISTORY_FILE)
    entries = json.loads(text)
    assert entries[0] == {"timestamp": "old"} and len(entries) == 2
    entry = entries[1]
    assert entry["timestamp"] == "1970-01-01T00:00:00Z" and entry["toolVersion"].startswith("liveiso.customizer ")
    assert entry["config"]["os"]["hostname"] == "h"
    assert entry["config"]["os"]["users"][0]["password"] == {"type": "plain-text", "value": "[redacted]"}
    assert entry["config"]["os"]["additional_files"][0]["source"] == "motd"  # relative to the config dir
    assert "pw-123" not in text and str(tmp_path) not in text
    assert image_history.history_entry(config, 0) == image_history.history_entry(config, 0)  # reproducible


def test_image_history_none_writes_nothing(tmp_path):
    config = parse_config({"os": {"hostname": "h", "imageHistory": "none"}})
    assert config.os.image_history is False
    with pytest.raises(ConfigError) as info:
        parse_config({"os": {"imageHistory": "full"}})
    assert info.value.message == "config.os.imageHistory: invalid imageHistory value (full)"


# ------------------------------------------------------------------ boot loader hard reset

def test_hard_reset_regenerates_with_the_image_tool(tmp_path):
    image(tmp_path, {"/etc/default/grub": DEFAULT_GRUB, "/usr/sbin/update-grub": ""})
    os.chmod(str(tmp_path / "usr" / "sbin" / "update-grub"), 0o755)
    chroot = Recording(tmp_path)
    note = hard_reset(chroot, ["console=tty0", "a b", "security=selinux"])
    assert chroot.calls == [["update-grub"]]
    assert 'GRUB_CMDLINE_LINUX="console=tty0 \'a b\' security=selinux"\n' in read(tmp_path, "/etc/default/grub")
    assert "/boot/grub/grub.cfg regenerated by update-grub" in note


def test_hard_reset_without_tools_and_legacy_key(tmp_path):
    with pytest.raises(StepError) as info:
        hard_reset(Recording(tmp_path), [])
    assert "hard-reset needs the image's grub-mkconfig" in info.value.message
    config = parse_config({"os": {"resetBootLoaderType": "hard-reset"}})
    assert config.os.bootloader_reset == "hard-reset"
    with pytest.raises(ConfigError):
        parse_config({"os": {"resetBootLoaderType": "soft", "bootloader": {"resetType": "hard-reset"}}})
    assert with_cmdline("", ["x"]) == 'GRUB_CMDLINE_LINUX="x"\n'


# ------------------------------------------------------------------ overlays

def test_overlays_fstab_dirs_and_dracut(tmp_path):
    image(tmp_path, {"/etc/fstab": "UUID=a / ext4 defaults 0 1\nUUID=b /var ext4 defaults,x-initrd.mount 0 2\n"})
    config = parse_config({"os": {"overlays": [
        {"mountPoint": "/media", "lowerDirs": ["/media", "/home"], "upperDir": "/overlays/media/upper",
         "workDir": "/overlays/media/work"},
        {"mountPoint": "/etc", "lowerDirs": ["/etc"], "upperDir": "/var/overlays/etc/upper",
         "workDir": "/var/overlays/etc/work", "isInitrdOverlay": True, "mountDependencies": ["/var"],
         "mountOptions": "noatime"}]}})
    enable_overlays(Chroot(str(tmp_path)), config.os.overlays, selinux=False)
    lines = read(tmp_path, "/etc/fstab").splitlines()
    assert lines[2] == ("overlay /media overlay lowerdir=/media:/home,upperdir=/overlays/media/upper,"
                        "workdir=/overlays/media/work 0 0")
    assert lines[3] == ("overlay /etc overlay lowerdir=/sysroot/etc,upperdir=/sysroot/var/overlays/etc/upper,"
                        "workdir=/sysroot/var/overlays/etc/work,x-systemd.requires=/sysroot/var,x-initrd.mount,"
                        "x-systemd.wanted-by=initrd-fs.target,noatime 0 0")
    assert (tmp_path / "overlays" / "media" / "work").is_dir() and (tmp_path / "var" / "overlays" / "etc").is_dir()
    assert read(tmp_path, "/etc/dracut.conf.d/overlay.conf") == 'add_drivers+=" overlay "\n'


def test_overlay_validation_and_dependency_without_initrd_mount():
    for overlay, message in (
            ({"mountPoint": "/m", "upperDir": "/u", "workDir": "/u"}, "upperDir and workDir must be distinct"),
            ({"mountPoint": "/m", "upperDir": "/u", "workDir": "/u/w"}, "workDir (/u/w) should not be a subdirectory"),
            ({"mountPoint": "m", "upperDir": "/u", "workDir": "/w"}, "invalid path (m): must be an absolute path"),
            ({"mountPoint": "/m:x", "upperDir": "/u", "workDir": "/w"}, "contains invalid characters")):
        with pytest.raises(ConfigError) as info:
            parse_config({"os": {"overlays": [overlay]}})
        assert message in info.value.message
    config = parse_config({"os": {"overlays": [{"mountPoint": "/etc", "lowerDirs": ["/etc"], "upperDir": "/var/u",
                                                "workDir": "/var/w", "isInitrdOverlay": True,
                                                "mountDependencies": ["/var"]}]}})
    with pytest.raises(StepError) as info:
        fstab_line(config.os.overlays[0], [["UUID=b", "/var", "ext4", "defaults"]], 0)
    assert info.value.message == "config.os.overlays[0]: mountDependency /var requires x-initrd.mount option in fstab"


# ------------------------------------------------------------------ packages: snapshotTime, removePackageManager

@pytest.mark.parametrize("given, normal", [("2025-05-20", "2025-05-20T00:00:00Z"),
                                           ("2025-05-20T23:59:59Z", "2025-05-20T23:59:59Z"),
                                           ("2025-05-21T01:59:59+02:00", "2025-05-20T23:59:59Z")])
def test_snapshot_time_parsing(given, normal):
    assert parse_config(preview({"os": {"packages": {"snapshotTime": given}}}, "package-snapshot-time")).os.packages.snapshot_time == normal


def test_snapshot_time_invalid():
    with pytest.raises(ConfigError) as info:
        parse_config(preview({"os": {"packages": {"snapshotTime": "20 May 2025"}}}, "package-snapshot-time"))
    assert "invalid snapshot time format: must be YYYY-MM-DD or full RFC3339" in info.value.message


def test_snapshot_options_per_package_manager():
    assert snapshot_options(Apt(), "2025-05-20T23:59:59Z", "2.9.8") == ["-o", "APT::Snapshot=20250520T235959Z"]
    assert snapshot_options(Tdnf(), "2025-05-20T23:59:59Z") == ["--snapshottime=1747785599"]
    for manager, version in ((Apt(), "2.6.1"), (Apt(), None), (Dnf(), None), (Zypper(), None)):
        with pytest.raises(StepError) as info:
            snapshot_options(manager, "2025-05-20T23:59:59Z", version)
        assert info.value.message.startswith("config.os.packages.snapshotTime: ")
    assert version_tuple("1:3.0.3") == (3, 0) and version_tuple("x") is None


def test_install_packages_argv_with_snapshot(tmp_path):
    image(tmp_path, {"/usr/bin/apt-get": ""})
    os.chmod(str(tmp_path / "usr" / "bin" / "apt-get"), 0o755)
    chroot = Recording(tmp_path, results={"dpkg-query": (0, "ii  2.9.8")})
    config = parse_config(preview({"os": {"packages": {"install": ["hello"], "snapshotTime": "2025-05-20T23:59:59Z"}}},
                                  "package-snapshot-time"))
    os_steps.install_packages(StepContext(chroot, config))
    snap = ["-o", "APT::Snapshot=20250520T235959Z"]
    assert chroot.calls[1] == ["apt-get"] + snap + ["-q", "update"]
    assert chroot.calls[2][:len(snap) + 1] == ["apt-get"] + snap and chroot.calls[2][-2:] == ["install", "hello"]
    assert chroot.calls[3] == ["apt-get", "clean"]


def test_install_packages_snapshot_refused_on_bookworm_apt(tmp_path):
    image(tmp_path, {"/usr/bin/apt-get": ""})
    os.chmod(str(tmp_path / "usr" / "bin" / "apt-get"), 0o755)
    chroot = Recording(tmp_path, results={"dpkg-query": (0, "ii  2.6.1")})
    config = parse_config(preview({"os": {"packages": {"install": ["hello"], "snapshotTime": "2025-05-20"}}},
                                  "package-snapshot-time"))
    with pytest.raises(StepError) as info:
        os_steps.install_packages(StepContext(chroot, config))
    assert "apt 2.6.1 in the image has no snapshot support" in info.value.message
    assert [call[0] for call in chroot.calls] == ["dpkg-query"]  # nothing installed


def test_remove_package_manager_apt(tmp_path):
    image(tmp_path, {"/var/lib/apt/lists/x": "", "/var/cache/apt/pkgcache.bin": ""})
    chroot = Recording(tmp_path, results={"dpkg-query": (0, "ii  2.6.1")})
    assert remove_package_manager(chroot, Apt()) == ["apt", "apt-utils", "/var/lib/apt", "/var/cache/apt"]
    assert chroot.calls[-1] == ["apt-get", "-y", "-q", "remove", "--auto-remove", "--allow-remove-essential", "--",
                                "apt", "apt-utils"]
    assert not (tmp_path / "var" / "lib" / "apt").exists() and (tmp_path / "var" / "lib").exists()
    with pytest.raises(StepError):
        remove_package_manager(chroot, Dnf())


def test_root_filesystem_and_shim():
    mounts = "/dev/sda1 / ext4 rw 0 0\n/dev/loop7 /b/root ext4 rw 0 0\n"
    assert root_filesystem("/b/root", mounts) == ("/dev/loop7", "ext4")
    assert root_filesystem("/elsewhere", mounts) is None
    assert root_filesystem("/b/root", "overlay /b/root overlay rw 0 0\n") is None
    shim = shim_text("0c2e-uuid", "ext4")
    assert "device) echo 'UUID=0c2e-uuid' ;;" in shim and "fs) echo 'ext2' ;;" in shim
