# SPDX-License-Identifier: GPL-3.0-or-later
"""os_steps.py: step order and skipping, and the file-writing steps against a plain directory as image root.

write_image_file() always chowns what it writes to root:root, so the tests that go through it are marked
`root` (conftest skips them, with a reason, for non-root developers). Steps that only run commands are tested
with a recording Chroot that runs nothing.
"""

import os
import shutil
import stat
import uuid

import pytest

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
    "run-post-customization-scripts",
    "run-finalize-customization-scripts",
]
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
    os.symlink("sub", str(b / "tree" / "dirlink"))
    os.symlink("/etc/hostname", str(b / "tree" / "hostlink"))
    (b / "files").mkdir()
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
    assert planned_steps(parse_config(full_data(), str(src))) == REFERENCE_ORDER
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
    assert sorted(os.listdir(str(dest))) == ["a.txt", "dirlink", "hostlink", "link", "run.sh", "sub"]
    assert (dest / "a.txt").read_text() == "a\n" and mode_of(dest / "a.txt") == 0o640
    assert mode_of(dest / "run.sh") == 0o755
    assert (dest / "sub" / "deeper" / "x.conf").read_text() == "x=1\n"
    assert mode_of(dest / "sub" / "deeper" / "x.conf") == 0o600
    for d in (root / "opt", dest, dest / "sub", dest / "sub" / "deeper"):
        assert mode_of(d) == 0o755
    # symlinks are recreated, never followed (not even to the host's /etc/hostname)
    assert os.readlink(str(dest / "link")) == "a.txt"
    assert os.readlink(str(dest / "dirlink")) == "sub"
    assert os.readlink(str(dest / "hostlink")) == "/etc/hostname"


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
    assert os.path.islink(str(dest / "link")) and os.readlink(str(dest / "link")) == "a.txt"


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

@pytest.mark.root
def test_run_scripts(root, src):
    seen = {}

    def on_run(argv):
        script_dir = root / os_steps.SCRIPT_DIR.lstrip("/")
        for name in os.listdir(str(script_dir)):
            seen[name] = ((script_dir / name).read_text(), mode_of(script_dir / name))
        seen["dir_mode"] = mode_of(script_dir)

    chroot = RecordingChroot(root, on_run=on_run)
    ctx = ctx_for(root, {"scripts": {"postCustomization": [
        {"path": "post.sh", "interpreter": "/usr/bin/env bash", "arguments": ["--flag", "two words"],
         "environmentVariables": {"FOO": "bar", "N": 3}},
        {"content": "echo inline\n", "name": "my step"},
    ]}}, base=src, chroot=chroot)
    os_steps.run_post_customization_scripts(ctx)
    d = os_steps.SCRIPT_DIR
    assert chroot.calls[0][0] == ["/usr/bin/env", "bash", d + "/00-post.sh", "--flag", "two words"]
    assert chroot.calls[0][1] == {"FOO": "bar", "N": "3"}
    assert chroot.calls[0][2] == {"check": False, "merge_output": True}
    assert chroot.calls[1][0] == ["/bin/sh", d + "/01-my_step"]
    assert seen["00-post.sh"] == ("echo post\n", 0o700)
    assert seen["01-my_step"] == ("echo inline\n", 0o700)
    assert seen["dir_mode"] == 0o700
    assert not (root / d.lstrip("/")).exists()  # removed after


@pytest.mark.root
def test_run_scripts_failure(root):
    chroot = RecordingChroot(root, results={"/bin/sh": (3, "step 1\nstep 2\nboom\n")})
    ctx = ctx_for(root, {"scripts": {"finalizeCustomization": [{"content": "exit 3", "name": "fin"}]}},
                  chroot=chroot)
    with pytest.raises(ScriptError) as info:
        os_steps.run_finalize_customization_scripts(ctx)
    assert info.value.message == ("config.scripts.finalizeCustomization[0] (fin) failed with exit code 3; "
                                  "last lines of its output: step 1 | step 2 | boom")
    assert not (root / os_steps.SCRIPT_DIR.lstrip("/")).exists()


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
