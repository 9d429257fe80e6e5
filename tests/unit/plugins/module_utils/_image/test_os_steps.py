# SPDX-License-Identifier: GPL-3.0-or-later
"""os_steps.py: step order and skipping, and the file-writing steps against a plain directory as image root.

write_image_file() always chowns what it writes to root:root, so the tests that go through it are marked
`root` (conftest skips them, with a reason, for non-root developers). Steps that only run commands are tested
with a recording Chroot that runs nothing.
"""

import contextlib
import os
import shutil
import stat
import uuid

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._config import model as os_steps_model
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import (
    CommandError,
    ConfigError,
    ScriptError,
    StepError,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import Result
from ansible_collections.liveiso.customizer.plugins.module_utils._image import steps as os_steps
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot
from ansible_collections.liveiso.customizer.plugins.module_utils._image.steps import StepContext, planned_steps

REFERENCE_ORDER = [
    "install-packages",
    "set-hostname",
    "create-groups",
    "configure-users",
    "copy-additional-dirs",
    "copy-additional-files",
    "configure-services",
    "configure-modules",
    "set-kernel-command-line",
    "reset-boot-loader",
    "configure-selinux",
    "configure-overlays",
    "run-post-customization-scripts",
    "remove-package-manager",
    "relabel-selinux",
    "run-finalize-customization-scripts",
]
NEW_IN_ISSUE_12 = {"reset-boot-loader", "configure-selinux", "configure-overlays", "remove-package-manager",
                   "relabel-selinux"}
HEADER = "# Written by liveiso.customizer from os.modules\n"


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


@pytest.fixture
def src(tmp_path):
    """A config base directory."""
    b = tmp_path / "src"
    (b / "tree" / "sub" / "deeper").mkdir(parents=True)
    (b / "tree" / "a.txt").write_text("a\n")
    os.chmod(str(b / "tree" / "a.txt"), 0o640)
    (b / "tree" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(str(b / "tree" / "run.sh"), 0o755)
    (b / "tree" / "sub" / "deeper" / "x.conf").write_text("x=1\n")
    os.chmod(str(b / "tree" / "sub" / "deeper" / "x.conf"), 0o600)
    os.symlink("a.txt", str(b / "tree" / "link"))
    (b / "files").mkdir()
    os.symlink(str(b / "files" / "motd"), str(b / "tree" / "hostlink"))  # absolute: a host path
    (b / "files" / "tool").write_bytes(b"\x7fELF-ish\x00")
    os.chmod(str(b / "files" / "tool"), 0o750)
    (b / "files" / "motd").write_text("Welcome\n")
    os.chmod(str(b / "files" / "motd"), 0o664)
    (b / "post.sh").write_text("echo post\n")
    return b


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def canary():
    """A host path that must never be created: an image's absolute symlinks point at it."""
    path = "/liveiso-canary-%s" % uuid.uuid4().hex
    assert not os.path.lexists(path)
    yield path
    leaked = os.path.lexists(path)
    if leaked:
        shutil.rmtree(path, ignore_errors=True)
    assert not leaked, "a step wrote to the host path %s" % path


def ctx_for(root, data, base=None, chroot=None):
    return StepContext(chroot or Chroot(str(root)), parse_config(data, str(base) if base else None))


# ------------------------------------------------------------------ planning

def full_data():
    return {
        "os": {
            "hostname": "web01",
            "packages": {"install": ["curl"]},
            "groups": [{"name": "ops"}],
            "users": [{"name": "bob"}],
            "additionalDirs": [{"source": "tree", "destination": "/opt/tree"}],
            "additionalFiles": [{"content": "x", "destination": "/etc/x"}],
            "services": {"enable": ["ssh.service"]},
            "modules": [{"name": "loop", "loadMode": "always"}],
            "kernelCommandLine": {"extraCommandLine": ["console=ttyS0"]},
        },
        "scripts": {
            "postCustomization": [{"content": "true"}],
            "finalizeCustomization": [{"path": "post.sh"}],
        },
        "iso": {"initramfsType": "full-os"},
    }


def test_planned_steps_reference_order(src):
    assert planned_steps(parse_config(full_data(), str(src))) == [n for n in REFERENCE_ORDER if n not in NEW_IN_ISSUE_12]
    data = full_data()
    data["os"].update({"selinux": {"mode": "enforcing"}, "bootloader": {"resetType": "hard-reset"},
                       "overlays": [{"mountPoint": "/media", "lowerDirs": ["/media"], "upperDir": "/o/u",
                                     "workDir": "/o/w"}]})
    data["os"]["packages"]["removePackageManager"] = True
    if "previewFeatures" not in os_steps_model.UNSUPPORTED.get("config", frozenset()):
        data["previewFeatures"] = ["remove-package-manager"]  # the reference gates the key
    assert planned_steps(parse_config(data, str(src))) == REFERENCE_ORDER
    data["os"]["selinux"]["mode"] = "disabled"  # the mode is written, nothing is labelled
    assert "relabel-selinux" not in planned_steps(parse_config(data, str(src)))
    assert [s.name for s in os_steps.OS_STEPS + os_steps.FINALIZE_STEPS] == REFERENCE_ORDER


def test_planned_steps_empty():
    assert planned_steps(parse_config({})) == []
    assert planned_steps(parse_config({"iso": {"kernelCommandLine": {"extraCommandLine": "quiet"}}})) == []
    assert planned_steps(parse_config({"os": {"packages": {}, "services": {}, "users": [], "modules": []},
                                       "scripts": {"postCustomization": []}})) == []


@pytest.mark.parametrize("data,expected", [
    ({"os": {"packages": {"remove": ["nano"]}}}, ["install-packages"]),
    ({"os": {"packages": {"updateExistingPackages": True}}}, ["install-packages"]),
    ({"os": {"packages": {"updateExistingPackages": False}}}, []),
    ({"os": {"packages": {"update": ["openssl"]}}}, ["install-packages"]),
    ({"os": {"hostname": "h"}}, ["set-hostname"]),
    ({"os": {"groups": [{"name": "g"}]}}, ["create-groups"]),
    ({"os": {"users": [{"name": "u"}]}}, ["configure-users"]),
    ({"os": {"additionalDirs": [{"source": "tree", "destination": "/t"}]}}, ["copy-additional-dirs"]),
    ({"os": {"additionalFiles": {"files/motd": "/etc/motd"}}}, ["copy-additional-files"]),
    ({"os": {"services": {"disable": ["x.timer"]}}}, ["configure-services"]),
    ({"os": {"modules": [{"name": "m", "loadMode": "auto"}]}}, ["configure-modules"]),
    ({"os": {"kernelCommandLine": {"extraCommandLine": "quiet"}}}, ["set-kernel-command-line"]),
    ({"os": {"kernelCommandLine": {"extraCommandLine": ""}}}, []),
    ({"scripts": {"postCustomization": [{"content": "true"}]}}, ["run-post-customization-scripts"]),
    ({"scripts": {"finalizeCustomization": [{"content": "true"}]}}, ["run-finalize-customization-scripts"]),
    ({"os": {"hostname": "h", "modules": [{"name": "m"}]}, "scripts": {"finalizeCustomization": [{"content": "t"}]}},
     ["set-hostname", "configure-modules", "run-finalize-customization-scripts"]),
])
def test_planned_steps_only_wanted(src, data, expected):
    assert planned_steps(parse_config(data, str(src))) == expected


# ------------------------------------------------------------------ a Chroot that runs nothing

class RecordingChroot(Chroot):
    def __init__(self, root, results=None, on_run=None):
        super().__init__(str(root))
        self.calls = []
        self.results = results or {}  # argv[0] -> (exit code, output)
        self.on_run = on_run

    def run(self, argv, env=None, **kwargs):
        argv = list(argv)
        self.calls.append((argv, env, kwargs))
        if self.on_run:
            self.on_run(argv)
        code, output = self.results.get(argv[0], (0, ""))
        if code and kwargs.get("check", True):
            raise CommandError(["chroot", self.root] + argv, code, output, what=kwargs.get("what"))
        return Result(argv, code, output, "", 0.0)

    def argvs(self):
        return [call[0] for call in self.calls]


def _exe(root, rel):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\n")
    os.chmod(path, 0o755)


def test_install_packages_order_with_apt(root):
    _exe(root, "usr/bin/apt-get")
    chroot = RecordingChroot(root)
    ctx = ctx_for(root, {"os": {"packages": {"remove": ["nano"], "updateExistingPackages": True,
                                             "install": ["curl", "jq"], "update": ["openssl"]}}}, chroot=chroot)
    os_steps.install_packages(ctx)
    base = os_steps.detect(chroot).base
    assert chroot.argvs() == [
        ["apt-get", "-q", "update"],
        base + ["purge", "--auto-remove", "nano"],
        base + ["dist-upgrade"],
        base + ["install", "curl", "jq"],
        base + ["install", "--only-upgrade", "openssl"],
        ["apt-get", "clean"],
    ]
    assert all(env == {"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
               for env in (call[1] for call in chroot.calls))
    assert chroot.calls[-1][2] == {"check": False}
    assert ctx.notes == ["package manager: apt"]


def test_install_packages_only_install_with_dnf(root):
    _exe(root, "usr/bin/dnf")
    chroot = RecordingChroot(root)
    os_steps.install_packages(ctx_for(root, {"os": {"packages": {"install": ["vim"]}}}, chroot=chroot))
    assert chroot.argvs() == [["dnf", "-y", "--setopt=install_weak_deps=False", "install", "vim"],
                              ["dnf", "clean", "all"]]


def test_install_packages_failure_names_key(root):
    _exe(root, "usr/bin/zypper")
    chroot = RecordingChroot(root, results={"zypper": (104, "No provider of 'nosuchpkg' found.")})
    with pytest.raises(StepError) as info:
        os_steps.install_packages(ctx_for(root, {"os": {"packages": {"install": ["nosuchpkg"]}}}, chroot=chroot))
    # zypper refreshes first: the failure is reported against the install key
    assert str(info.value).startswith("config.os.packages.install: zypper --non-interactive (refreshing package "
                                      "lists) failed (exit 104): No provider of 'nosuchpkg' found.")


def test_configure_services(root):
    chroot = RecordingChroot(root)
    os_steps.configure_services(ctx_for(root, {"os": {"services": {"enable": ["ssh.service", "a@b.service"],
                                                                   "disable": ["apt-daily.timer"]}}}, chroot=chroot))
    assert chroot.argvs() == [["systemctl", "enable", "ssh.service"], ["systemctl", "enable", "a@b.service"],
                              ["systemctl", "disable", "apt-daily.timer"]]


def test_configure_services_failure(root):
    chroot = RecordingChroot(root, results={"systemctl": (1, "Unit nope.service does not exist.")})
    with pytest.raises(StepError) as info:
        os_steps.configure_services(ctx_for(root, {"os": {"services": {"enable": ["nope.service"]}}}, chroot=chroot))
    assert info.value.message == "config.os.services.enable: cannot enable nope.service: Unit nope.service does " \
                                 "not exist."


def _etc(root, passwd="root:x:0:0:root:/root:/bin/bash\n", group="root:x:0:\nsudo:x:27:\nadmins:x:2000:\n"):
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "passwd").write_text(passwd)
    (root / "etc" / "group").write_text(group)


def test_create_groups(root):
    _etc(root)
    chroot = RecordingChroot(root)
    os_steps.create_groups(ctx_for(root, {"os": {"groups": [{"name": "admins", "gid": 2001}, {"name": "sudo"},
                                                            {"name": "ops"}, {"name": "dev", "gid": 3000}]}},
                                   chroot=chroot))
    assert chroot.argvs() == [["groupmod", "--gid", "2001", "admins"], ["groupadd", "ops"],
                              ["groupadd", "--gid", "3000", "dev"]]


def test_configure_users_new_user_password_only_on_stdin(root):
    _etc(root)
    (root / "bin").mkdir()
    (root / "bin" / "bash").write_text("")
    secret = "Users-Step-Secret-31"
    chroot = RecordingChroot(root)
    ctx = ctx_for(root, {"os": {"users": [
        {"name": "alice", "uid": 1001, "primaryGroup": "admins", "secondaryGroups": ["sudo"],
         "homeDirectory": "/srv/alice", "password": {"type": "plain-text-forced-expiration", "value": secret},
         "passwordExpiresDays": 30},
        {"name": "svc", "password": {"type": "locked"}},
        {"name": "root", "password": {"type": "hashed", "value": "$6$x$hashhashhash"}},
    ]}}, chroot=chroot)
    os_steps.configure_users(ctx)
    assert chroot.argvs() == [
        ["useradd", "--create-home", "--uid", "1001", "--gid", "admins", "--groups", "sudo", "--home", "/srv/alice",
         "--shell", "/bin/bash", "--", "alice"],
        ["chpasswd"],
        ["chage", "--lastday", "0", "--", "alice"],
        ["chage", "--maxdays", "30", "--", "alice"],
        ["useradd", "--create-home", "--shell", "/bin/bash", "--", "svc"],
        ["usermod", "--lock", "--", "svc"],
        ["chpasswd", "--encrypted"],  # root exists: no useradd/usermod
    ]
    assert chroot.calls[1][2]["input"] == "alice:%s\n" % secret
    assert chroot.calls[6][2]["input"] == "root:$6$x$hashhashhash\n"
    for call in chroot.calls:
        argv, kwargs = call[0], call[2]
        assert secret not in " ".join(argv)
        assert secret not in kwargs.get("what", "")


def test_configure_users_existing_user_usermod(root):
    _etc(root, passwd="root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n")
    chroot = RecordingChroot(root)
    os_steps.configure_users(ctx_for(root, {"os": {"users": [
        {"name": "bob", "secondaryGroups": ["sudo", "admins"], "homeDirectory": "/home/robert",
         "startupCommand": "/bin/zsh"}]}}, chroot=chroot))
    assert chroot.argvs() == [["usermod", "--groups", "sudo,admins", "--home", "/home/robert", "--shell", "/bin/zsh",
                               "--move-home", "--append", "--", "bob"]]


def test_configure_users_missing_group(root):
    _etc(root)
    chroot = RecordingChroot(root)
    with pytest.raises(ConfigError) as info:
        users = [{"name": "a"}, {"name": "b", "secondaryGroups": ["wheel"]}]
        os_steps.configure_users(ctx_for(root, {"os": {"users": users}}, chroot=chroot))
    assert info.value.path == "config.os.users[1]"
    assert info.value.message == "config.os.users[1]: group 'wheel' does not exist in the image"
    assert chroot.argvs() == [["useradd", "--create-home", "--shell", "/bin/sh", "--", "a"]]


def test_configure_users_failure_is_step_error(root):
    _etc(root)
    chroot = RecordingChroot(root, results={"useradd": (9, "useradd: user 'x' already exists")})
    with pytest.raises(StepError) as info:
        os_steps.configure_users(ctx_for(root, {"os": {"users": [{"name": "x"}]}}, chroot=chroot))
    assert str(info.value) == "config.os.users[0]: creating user x failed (exit 9): useradd: user 'x' already exists"


@pytest.mark.root
def test_configure_users_ssh_keys(root):
    _etc(root, passwd="root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1001::/home/bob:/bin/sh\n")
    (root / "home" / "bob").mkdir(parents=True)
    chroot = RecordingChroot(root)
    os_steps.configure_users(ctx_for(root, {"os": {"users": [
        {"name": "bob", "sshPublicKeys": ["ssh-ed25519 AAAA1 a", "ssh-ed25519 AAAA2 b"]}]}}, chroot=chroot))
    keys = root / "home" / "bob" / ".ssh" / "authorized_keys"
    assert keys.read_text() == "ssh-ed25519 AAAA1 a\nssh-ed25519 AAAA2 b\n"
    assert mode_of(keys) == 0o600 and mode_of(keys.parent) == 0o700
    assert (os.stat(str(keys)).st_uid, os.stat(str(keys)).st_gid) == (1000, 1001)
    assert (os.stat(str(keys.parent)).st_uid, os.stat(str(keys.parent)).st_gid) == (1000, 1001)


# ------------------------------------------------------------------ file-writing steps (chown to root: root only)

@pytest.mark.root
def test_set_hostname_without_hosts(root):
    os_steps.set_hostname(ctx_for(root, {"os": {"hostname": "web01"}}))
    assert (root / "etc" / "hostname").read_text() == "web01\n"
    assert mode_of(root / "etc" / "hostname") == 0o644
    assert os.stat(str(root / "etc" / "hostname")).st_uid == 0
    assert not (root / "etc" / "hosts").exists()
    assert [n for n in os.listdir(str(root / "etc")) if n.startswith(".liveiso-")] == []


@pytest.mark.root
def test_set_hostname_replaces_127_0_1_1(root):
    (root / "etc").mkdir()
    (root / "etc" / "hostname").write_text("old\n")
    (root / "etc" / "hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\told old.example\n::1 localhost\n")
    os_steps.set_hostname(ctx_for(root, {"os": {"hostname": "web01.example.com"}}))
    assert (root / "etc" / "hostname").read_text() == "web01.example.com\n"
    assert (root / "etc" / "hosts").read_text() == \
        "127.0.0.1\tlocalhost\n127.0.1.1\tweb01.example.com web01\n::1 localhost\n"


@pytest.mark.root
def test_set_hostname_appends_127_0_1_1(root):
    (root / "etc").mkdir()
    (root / "etc" / "hosts").write_text("127.0.0.1 localhost")
    os_steps.set_hostname(ctx_for(root, {"os": {"hostname": "db"}}))
    assert (root / "etc" / "hosts").read_text() == "127.0.0.1 localhost\n127.0.1.1\tdb\n"


@pytest.mark.root
def test_copy_additional_files(root, src):
    (root / "etc").mkdir()
    (root / "etc" / "motd").write_text("old motd\n")
    os.chmod(str(root / "etc" / "motd"), 0o600)
    ctx = ctx_for(root, {"os": {"additionalFiles": [
        {"source": "files/motd", "destination": "/etc/motd"},
        {"source": "files/tool", "destination": "/usr/local/bin/tool"},
        {"source": "files/motd", "destination": "/opt/app/conf/motd", "permissions": "0400"},
        {"content": "k=v\n", "destination": "/etc/app.conf"},
        {"content": "#!/bin/sh\n", "destination": "/usr/local/sbin/x", "permissions": "755"},
        {"content": "", "destination": "/etc/empty"},
    ]}}, base=src)
    os_steps.copy_additional_files(ctx)
    assert (root / "etc" / "motd").read_text() == "Welcome\n"
    assert mode_of(root / "etc" / "motd") == 0o664  # source mode kept
    assert (root / "usr" / "local" / "bin" / "tool").read_bytes() == b"\x7fELF-ish\x00"
    assert mode_of(root / "usr" / "local" / "bin" / "tool") == 0o750
    assert mode_of(root / "opt" / "app" / "conf" / "motd") == 0o400
    for d in ("opt", "opt/app", "opt/app/conf", "usr", "usr/local", "usr/local/bin"):
        assert mode_of(root / d) == 0o755, d
    assert (root / "etc" / "app.conf").read_text() == "k=v\n"
    assert mode_of(root / "etc" / "app.conf") == 0o644
    assert mode_of(root / "usr" / "local" / "sbin" / "x") == 0o755
    assert (root / "etc" / "empty").read_bytes() == b""
    assert os.stat(str(root / "etc" / "app.conf")).st_uid == 0


@pytest.mark.root
def test_copy_additional_files_directory_in_the_way(root):
    (root / "etc" / "motd").mkdir(parents=True)
    with pytest.raises(StepError) as info:
        os_steps.copy_additional_files(ctx_for(root, {"os": {"additionalFiles": [
            {"content": "x", "destination": "/etc/motd"}]}}))
    assert str(info.value) == "cannot write /etc/motd: a directory is in the way."
    assert os.listdir(str(root / "etc")) == ["motd"]  # temp file cleaned up


@pytest.mark.root
def test_copy_additional_files_file_in_the_way(root):
    (root / "opt").write_text("I am a file")
    with pytest.raises(StepError) as info:
        os_steps.copy_additional_files(ctx_for(root, {"os": {"additionalFiles": [
            {"content": "x", "destination": "/opt/app/x"}]}}))
    assert str(info.value) == "cannot create directory /opt in the image: a file is in the way."


@pytest.mark.root
def test_copy_additional_dirs_new(root, src):
    os_steps.copy_additional_dirs(ctx_for(root, {"os": {"additionalDirs": [
        {"source": "tree", "destination": "/opt/tree"}]}}, base=src))
    dest = root / "opt" / "tree"
    assert sorted(os.listdir(str(dest))) == ["a.txt", "hostlink", "link", "run.sh", "sub"]
    # the reference's default childFilePermissions: 0755 for every file, whatever the source's mode
    assert (dest / "a.txt").read_text() == "a\n" and mode_of(dest / "a.txt") == 0o755
    assert mode_of(dest / "run.sh") == 0o755
    assert (dest / "sub" / "deeper" / "x.conf").read_text() == "x=1\n"
    assert mode_of(dest / "sub" / "deeper" / "x.conf") == 0o755
    for d in (root / "opt", dest, dest / "sub", dest / "sub" / "deeper"):
        assert mode_of(d) == 0o755
    # symlinks are followed on the host, as the reference does: their targets' content, as files
    assert not os.path.islink(str(dest / "link")) and (dest / "link").read_text() == "a\n"
    assert not os.path.islink(str(dest / "hostlink")) and (dest / "hostlink").read_text() == "Welcome\n"
    assert mode_of(dest / "hostlink") == 0o755


@pytest.mark.root
@pytest.mark.parametrize("target, what", [("sub", "is not a file."), ("nowhere", "is not a file (a dangling symlink).")])
def test_copy_additional_dirs_refuses_links_to_dirs_and_dangling_links(root, src, target, what):
    os.symlink(target, str(src / "tree" / "badlink"))
    with pytest.raises(StepError) as info:
        os_steps.copy_additional_dirs(ctx_for(root, {"os": {"additionalDirs": [
            {"source": "tree", "destination": "/opt/tree"}]}}, base=src))
    assert info.value.message.startswith("config.os.additionalDirs[0].source: failed to copy file (%s) to "
                                         "(/opt/tree/badlink): source (" % (src / "tree" / "badlink"))
    assert info.value.message.endswith(what)


@pytest.mark.root
def test_copy_additional_dirs_permissions_and_merge(root, src):
    dest = root / "opt" / "tree"
    dest.mkdir(parents=True)
    os.chmod(str(dest), 0o711)
    (dest / "keep.txt").write_text("keep\n")
    (dest / "link").write_text("a file where the source has a symlink\n")
    os_steps.copy_additional_dirs(ctx_for(root, {"os": {"additionalDirs": [
        {"source": "tree", "destination": "/opt/tree", "newDirPermissions": "700", "mergedDirPermissions": "750",
         "childFilePermissions": "0604"}]}}, base=src))
    assert mode_of(dest) == 0o750  # existed: merged mode
    assert mode_of(dest / "sub") == 0o700 and mode_of(dest / "sub" / "deeper") == 0o700  # new
    assert mode_of(dest / "a.txt") == 0o604 and mode_of(dest / "run.sh") == 0o604
    assert mode_of(dest / "sub" / "deeper" / "x.conf") == 0o604
    assert (dest / "keep.txt").read_text() == "keep\n"  # merged, not replaced
    assert not os.path.islink(str(dest / "link")) and (dest / "link").read_text() == "a\n"


@pytest.mark.root
def test_copy_additional_dirs_merge_without_merged_mode(root, src):
    dest = root / "opt" / "tree"
    dest.mkdir(parents=True)
    os.chmod(str(dest), 0o711)
    os_steps.copy_additional_dirs(ctx_for(root, {"os": {"additionalDirs": [
        {"source": "tree", "destination": "/opt/tree", "newDirPermissions": "0700"}]}}, base=src))
    assert mode_of(dest) == 0o711
    assert mode_of(dest / "sub") == 0o700


@pytest.mark.root
def test_configure_modules(root):
    ctx = ctx_for(root, {"os": {"modules": [
        {"name": "br_netfilter", "loadMode": "always", "options": {"foo": "bar", "on": True}},
        {"name": "floppy", "loadMode": "disable"},
        {"name": "kvm_intel", "options": {"nested": 1}},
        {"name": "e1000", "loadMode": "auto"},
        {"name": "loop", "loadMode": "inherit"},
        {"name": "dummy", "loadMode": "always"},
    ]}})
    os_steps.configure_modules(ctx)
    load = root / "etc" / "modules-load.d" / "modules-load.conf"
    disabled = root / "etc" / "modprobe.d" / "modules-disabled.conf"
    options = root / "etc" / "modprobe.d" / "module-options.conf"
    assert load.read_text() == HEADER + "br_netfilter\ndummy\n"
    assert disabled.read_text() == HEADER + "blacklist floppy\n"
    assert options.read_text() == HEADER + "options br_netfilter foo=bar on=1\noptions kvm_intel nested=1\n"
    for path in (load, disabled, options):
        assert mode_of(path) == 0o644
    # a second run changes nothing
    os_steps.configure_modules(ctx)
    assert load.read_text() == HEADER + "br_netfilter\ndummy\n"
    assert disabled.read_text() == HEADER + "blacklist floppy\n"
    assert options.read_text() == HEADER + "options br_netfilter foo=bar on=1\noptions kvm_intel nested=1\n"


@pytest.mark.root
def test_configure_modules_keeps_existing_and_writes_only_needed_files(root):
    (root / "etc" / "modules-load.d").mkdir(parents=True)
    (root / "etc" / "modules-load.d" / "modules-load.conf").write_text("loop\nbr_netfilter")
    os_steps.configure_modules(ctx_for(root, {"os": {"modules": [
        {"name": "br_netfilter", "loadMode": "always"}, {"name": "vxlan", "loadMode": "always"}]}}))
    assert (root / "etc" / "modules-load.d" / "modules-load.conf").read_text() == "loop\nbr_netfilter\nvxlan\n"
    assert not (root / "etc" / "modprobe.d").exists()


@pytest.mark.root
def test_configure_modules_lifts_blacklist_and_merges_options(root):
    modprobe = root / "etc" / "modprobe.d"
    modprobe.mkdir(parents=True)
    (modprobe / "modules-disabled.conf").write_text("# base\nblacklist vfio\nblacklist e1000\nblacklist floppy\n"
                                                    "blacklist vfio_pci\n")
    (modprobe / "module-options.conf").write_text("# base\noptions vfio a=1 b=2\noptions other x=1\n")
    os_steps.configure_modules(ctx_for(root, {"os": {"modules": [
        {"name": "vfio", "loadMode": "always", "options": {"b": "3", "c": "Y"}},
        {"name": "e1000", "loadMode": "auto", "options": {"debug": 1}},
        {"name": "floppy", "loadMode": "inherit"},
    ]}}))
    # always/auto remove the module's own blacklist line only (not vfio_pci's); inherit leaves floppy's
    assert (modprobe / "modules-disabled.conf").read_text() == "# base\nblacklist floppy\nblacklist vfio_pci\n"
    # one options line per module: values replaced in place, new keys appended, other modules untouched
    assert (modprobe / "module-options.conf").read_text() == ("# base\noptions vfio a=1 b=3 c=Y\noptions other x=1\n"
                                                              "options e1000 debug=1\n")
    assert (root / "etc" / "modules-load.d" / "modules-load.conf").read_text() == HEADER + "vfio\n"


@pytest.mark.root
def test_configure_modules_refuses_options_for_a_blacklisted_inherited_module(root):
    (root / "etc" / "modprobe.d").mkdir(parents=True)
    (root / "etc" / "modprobe.d" / "modules-disabled.conf").write_text("blacklist floppy\n")
    with pytest.raises(StepError) as info:
        os_steps.configure_modules(ctx_for(root, {"os": {"modules": [{"name": "floppy", "options": {"a": "1"}}]}}))
    assert info.value.message.startswith("config.os.modules[0]: cannot add options for disabled module (floppy)")
    assert "auto or always" in info.value.hint


def test_duplicate_module_names_are_refused():
    with pytest.raises(ConfigError) as info:
        parse_config({"os": {"modules": [{"name": "vfio", "loadMode": "always"}, {"name": "loop"},
                                         {"name": "vfio", "loadMode": "disable"}]}})
    assert info.value.message == "config.os.modules[2].name: duplicate module found: vfio at index 2"


def test_empty_strings_are_unset_and_relative_destinations_join_root(src):
    config = parse_config({"os": {"hostname": "", "modules": [{"name": "loop", "loadMode": ""}],
                                  "additionalFiles": [{"source": "", "content": "x", "destination": "etc/x"},
                                                      {"source": "files/motd", "destination": "opt/m",
                                                       "permissions": ""}],
                                  "additionalDirs": [{"source": "tree", "destination": "usr/project/t"}],
                                  "users": [{"name": "bob", "primaryGroup": "", "homeDirectory": "",
                                             "startupCommand": ""}]}}, str(src))
    assert config.os.hostname is None and config.os.modules[0].load_mode is None
    assert [(f.destination, f.source, f.content, f.permissions) for f in config.os.additional_files] == [
        ("/etc/x", None, "x", None), ("/opt/m", str(src / "files" / "motd"), None, None)]
    assert config.os.additional_dirs[0].destination == "/usr/project/t"
    user = config.os.users[0]
    assert (user.primary_group, user.home_directory, user.startup_command) == (None, None, None)


@pytest.mark.parametrize("source", ["files", "/dev/null"])
def test_additional_file_source_that_is_a_directory_or_device(src, source):
    with pytest.raises(ConfigError) as info:
        parse_config({"os": {"additionalFiles": [{"source": source, "destination": "/x"}]}}, str(src))
    assert info.value.message == ("config.os.additionalFiles[0].source: additionalFiles source file is not a file "
                                  "(source='%s')" % source)


@pytest.mark.parametrize("kind, hashed", [("plain-text-file", False), ("hashed-file", True)])
def test_password_from_a_file(root, src, kind, hashed):
    (src / "pw").write_text("s3cret-%s\n" % kind)
    chroot = RecordingChroot(root)
    _etc(root, passwd="root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n")
    ctx = ctx_for(root, {"os": {"users": [{"name": "bob", "password": {"type": kind, "value": "pw"}}]}},
                  base=src, chroot=chroot)
    assert ctx.config.os.users[0].password.value == "s3cret-%s" % kind  # one trailing newline dropped
    assert "s3cret" not in repr(ctx.config)
    os_steps.configure_users(ctx)
    argv, kwargs = chroot.calls[-1][0], chroot.calls[-1][2]
    assert argv == ["chpasswd"] + (["--encrypted"] if hashed else [])
    assert kwargs["input"] == "bob:s3cret-%s\n" % kind


def test_password_file_missing_or_a_directory(src):
    for value, message in (("nope", "file not found: "), ("files", "password source file is not a file")):
        with pytest.raises(ConfigError) as info:
            parse_config({"os": {"users": [{"name": "bob", "password": {"type": "hashed-file", "value": value}}]}},
                         str(src))
        assert info.value.message.startswith("config.os.users[0].password.value: " + message)


# ------------------------------------------------------------------ confinement

@pytest.mark.root
def test_writes_follow_absolute_symlinks_inside_the_root(root, src, canary):
    os.symlink(canary, str(root / "etc"))  # the image's /etc -> /liveiso-canary-...
    ctx = ctx_for(root, {"os": {
        "hostname": "web01",
        "additionalFiles": [{"content": "hi\n", "destination": "/etc/motd", "permissions": "600"}],
        "additionalDirs": [{"source": "tree", "destination": "/etc/tree"}],
        "modules": [{"name": "loop", "loadMode": "always"}],
    }}, base=src)
    os_steps.set_hostname(ctx)
    os_steps.copy_additional_files(ctx)
    os_steps.copy_additional_dirs(ctx)
    os_steps.configure_modules(ctx)
    inside = root / canary.lstrip("/")
    assert (inside / "hostname").read_text() == "web01\n"
    assert (inside / "motd").read_text() == "hi\n" and mode_of(inside / "motd") == 0o600
    assert (inside / "tree" / "sub" / "deeper" / "x.conf").read_text() == "x=1\n"
    assert (inside / "modules-load.d" / "modules-load.conf").read_text() == HEADER + "loop\n"
    assert os.readlink(str(root / "etc")) == canary  # the image's link itself is untouched
    assert not os.path.lexists(canary)


@pytest.mark.root
def test_writes_through_final_and_relative_symlinks_stay_inside(root, tmp_path, canary):
    (root / "etc").mkdir()
    os.symlink(canary + "/hostname", str(root / "etc" / "hostname"))
    host_side = tmp_path / "host-side"
    host_side.mkdir()
    (host_side / "hosts").write_text("HOST FILE\n")
    climb = "../" * (len(str(root).split("/")) + 2)
    os.symlink(climb + str(host_side).lstrip("/") + "/hosts", str(root / "etc" / "hosts"))
    os_steps.set_hostname(ctx_for(root, {"os": {"hostname": "web01"}}))
    assert (root / canary.lstrip("/") / "hostname").read_text() == "web01\n"
    assert (host_side / "hosts").read_text() == "HOST FILE\n"  # the host file was neither read nor written
    assert not (root / str(host_side).lstrip("/") / "hosts").exists()  # no image hosts file: left alone
    assert not os.path.lexists(canary)


# ------------------------------------------------------------------ scripts

@pytest.fixture
def fake_mount(monkeypatch):
    """Records the config directory's bind mount instead of mounting (and checks the mount point exists)."""
    mounts = []

    @contextlib.contextmanager
    def mounted(source, target, fstype=None, options=None, bind=False):
        assert os.path.isdir(target)
        mounts.append({"source": source, "target": target, "bind": bind, "options": options, "active": True})
        try:
            yield target
        finally:
            mounts[-1]["active"] = False

    monkeypatch.setattr(os_steps, "mounted", mounted)
    return mounts


@pytest.mark.root
def test_run_scripts(root, src, fake_mount):
    seen = {}

    def on_run(argv):
        tmp = root / "tmp"
        for name in os.listdir(str(tmp)) if tmp.exists() else []:
            seen[name] = ((tmp / name).read_text(), mode_of(tmp / name))
        seen["mounted"] = [m["active"] for m in fake_mount]

    chroot = RecordingChroot(root, on_run=on_run)
    (src / "sub").mkdir()
    (src / "sub" / "b.sh").write_text("echo b\n")
    ctx = ctx_for(root, {"scripts": {"postCustomization": [
        {"path": "post.sh", "interpreter": "/usr/bin/env bash", "arguments": ["--flag", "two words"],
         "environmentVariables": {"FOO": "bar", "N": 3}},
        {"content": "echo inline\n", "name": "my step"},
        {"path": "./sub/../sub/b.sh", "content": "", "interpreter": "", "name": ""},  # empty strings are unset
    ]}}, base=src, chroot=chroot)
    os_steps.run_post_customization_scripts(ctx)
    # path scripts run from the config directory, bind-mounted read-only at /_imageconfigs (the reference's place)
    assert fake_mount == [{"source": str(src), "target": str(root / "_imageconfigs"), "bind": True,
                           "options": ["ro"], "active": False}]
    assert not (root / "_imageconfigs").exists()  # the mount point is removed after
    assert chroot.calls[0][0] == ["/usr/bin/env", "bash", "/_imageconfigs/post.sh", "--flag", "two words"]
    assert chroot.calls[0][1] == {"FOO": "bar", "N": "3"}
    assert chroot.calls[0][2] == {"check": False, "merge_output": True}
    inline = "/tmp/liveiso-script-%d-my_step" % os.getpid()
    assert chroot.calls[1][0] == ["/bin/sh", inline]
    assert chroot.calls[2][0] == ["/bin/sh", "/_imageconfigs/sub/b.sh"]
    assert seen[os.path.basename(inline)] == ("echo inline\n", 0o700)  # inline content: a file under /tmp
    assert seen["mounted"] == [True]
    assert os.listdir(str(root / "tmp")) == []  # removed after


@pytest.mark.root
def test_run_scripts_failure(root, fake_mount):
    chroot = RecordingChroot(root, results={"/bin/sh": (3, "step 1\nstep 2\nboom\n")})
    ctx = ctx_for(root, {"scripts": {"finalizeCustomization": [{"content": "exit 3", "name": "fin"}]}},
                  chroot=chroot)
    with pytest.raises(ScriptError) as info:
        os_steps.run_finalize_customization_scripts(ctx)
    assert info.value.message == ("config.scripts.finalizeCustomization[0] (fin) failed with exit code 3; "
                                  "last lines of its output: step 1 | step 2 | boom")
    assert os.listdir(str(root / "tmp")) == []
    assert fake_mount == []  # config given inline, no config_dir: nothing to mount


@pytest.mark.parametrize("path", ["/etc/x.sh", "../x.sh", "a/../../x.sh"])
def test_script_path_outside_the_config_dir_is_refused(src, path):
    with pytest.raises(ConfigError) as info:
        parse_config({"scripts": {"postCustomization": [{"path": path}]}}, str(src))
    assert info.value.message == ("config.scripts.postCustomization[0].path: script file is not under config "
                                  "directory (script='%s', config='%s')" % (path, src))


@pytest.mark.root
def test_run_scripts_refuses_an_image_file_at_imageconfigs(root, src, fake_mount):
    (root / "_imageconfigs").write_text("mine\n")
    ctx = ctx_for(root, {"scripts": {"postCustomization": [{"path": "post.sh"}]}}, base=src,
                  chroot=RecordingChroot(root))
    with pytest.raises(StepError) as info:
        os_steps.run_post_customization_scripts(ctx)
    assert "/_imageconfigs" in info.value.message and (root / "_imageconfigs").read_text() == "mine\n"


@pytest.mark.root
def test_write_image_file_atomic_and_modes(root):
    chroot = Chroot(str(root))
    target = os_steps.write_image_file(chroot, "/a/b/c.bin", b"\x00\x01", 0o640)
    assert target == str(root / "a" / "b" / "c.bin")
    assert (root / "a" / "b" / "c.bin").read_bytes() == b"\x00\x01"
    assert mode_of(root / "a" / "b" / "c.bin") == 0o640
    os_steps.write_image_file(chroot, "/a/b/c.bin", "text", 0o600)
    assert (root / "a" / "b" / "c.bin").read_text() == "text"
    assert mode_of(root / "a" / "b" / "c.bin") == 0o600
    assert os.listdir(str(root / "a" / "b")) == ["c.bin"]


def test_read_helpers(root):
    _etc(root, passwd="root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1001:Bob:/home/bob:/bin/sh\nshort:x\n")
    chroot = Chroot(str(root))
    assert os_steps.passwd_entry(chroot, "bob") == (1000, 1001, "/home/bob")
    assert os_steps.passwd_entry(chroot, "short") is None
    assert os_steps.passwd_entry(chroot, "nobody") is None
    assert os_steps.group_exists(chroot, "sudo") and not os_steps.group_exists(chroot, "wheel")
    assert os_steps.read_image_file(chroot, "/etc/missing", "dflt") == "dflt"
    assert os_steps.read_image_file(chroot, "/etc/passwd/below-a-file", None) is None


# ------------------------------------------------------------------ user-caused OSErrors are CustomizerErrors

def test_source_that_became_a_directory_is_a_file_access_error(root, tmp_path):
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import (
        Config, FileSpec, OSConfig)
    from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import FileAccessError
    source = tmp_path / "was-a-file"
    source.mkdir()  # validated as a file, replaced by a directory before the step ran
    config = Config(os=OSConfig(additional_files=(FileSpec("/etc/app.conf", source=str(source)),)))
    with pytest.raises(FileAccessError) as info:
        os_steps.copy_additional_files(StepContext(Chroot(str(root)), config))
    assert info.value.message == ("cannot read config.os.additionalFiles[0].source (%s): it is a directory, "
                                  "where a file is expected." % source)


def test_unreadable_image_file_is_a_file_access_error(root):
    from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import FileAccessError
    (root / "etc" / "passwd").mkdir(parents=True)  # a broken image: a directory where /etc/passwd should be
    with pytest.raises(FileAccessError) as info:
        os_steps.passwd_entry(Chroot(str(root)), "root")
    assert info.value.message.startswith("cannot read /etc/passwd in the image (")
    assert os_steps.read_image_file(Chroot(str(root)), "/etc/missing/file", None) is None
