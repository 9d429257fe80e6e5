# SPDX-License-Identifier: GPL-3.0-or-later
"""config.py: the typed model, strict validation with full key paths, load_config."""

import os

import pytest
import yaml

from ansible_collections.liveiso.customizer.plugins.module_utils._config import model as cfg
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import (
    Config,
    DirSpec,
    FileSpec,
    Group,
    IsoConfig,
    KernelModule,
    OSConfig,
    Packages,
    Password,
    Script,
    ScriptsConfig,
    User,
    load_config,
    parse_config,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._core import secrets
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

HEADER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEYFILE0000000000000000000000000000000 admin@file"
INLINE_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIINLINE000000000000000000000000000000 admin@inline"
HASH = "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdefghijkl"


def write(path, text, mode=None):
    path = str(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    if mode is not None:
        os.chmod(path, mode)
    return path


@pytest.fixture
def base(tmp_path):
    """A config base directory holding every file the configs below reference."""
    b = tmp_path / "base"
    write(b / "files" / "motd", "Welcome\n")
    write(b / "files" / "app.conf", "key=value\n")
    write(b / "dirs" / "extra" / "x.txt", "x\n")
    write(b / "lists" / "install.yaml", "packages:\n  - curl\n  - vim-tiny\n")
    write(b / "lists" / "remove.yaml", "packages: [nano]\n")
    write(b / "lists" / "update.yaml", "packages:\n  - libc6\n")
    write(b / "lists" / "badkey.yaml", "pkgs: [curl]\n")
    write(b / "lists" / "broken.yaml", "packages: [curl\n")
    write(b / "keys" / "admin.pub", "# a comment line\n%s\n\n" % HEADER_KEY)
    write(b / "scripts" / "post.sh", "#!/bin/sh\necho post\n", 0o755)
    return str(b)


def full_config():
    return {
        "os": {
            "hostname": "web01.example.com",
            "packages": {
                "remove": ["apt-listchanges"],
                "removeLists": ["lists/remove.yaml"],
                "updateExistingPackages": True,
                "install": ["openssh-server"],
                "installLists": ["lists/install.yaml"],
                "update": ["openssl"],
                "updateLists": ["lists/update.yaml"],
            },
            "additionalFiles": [
                {"source": "files/motd", "destination": "/etc/motd", "permissions": "644"},
                {"content": "hello\n", "destination": "/etc/hello.txt", "permissions": "0600"},
                {"content": "", "destination": "//etc//empty/"},
                {"source": "files/app.conf", "destination": "/etc/app.conf", "permissions": 640},
            ],
            "additionalDirs": [
                {"source": "dirs/extra", "destination": "/opt/extra", "newDirPermissions": "755",
                 "mergedDirPermissions": "0750", "childFilePermissions": "0o640"},
                {"source": "dirs", "destination": "/srv/dirs"},
            ],
            "users": [
                {"name": "admin", "uid": 1001,
                 "password": {"type": "hashed", "value": HASH},
                 "passwordExpiresDays": 90,
                 "sshPublicKeys": [INLINE_KEY],
                 "sshPublicKeyPaths": ["keys/admin.pub"],
                 "primaryGroup": "admins",
                 "secondaryGroups": ["sudo", "adm"],
                 "homeDirectory": "/home/admin",
                 "startupCommand": "/bin/bash"},
                {"name": "svc", "password": {"type": "locked"}},
                {"name": "tmpuser", "password": {"type": "plain-text-forced-expiration", "value": "Tmp-Passw0rd-x1"}},
            ],
            "groups": [{"name": "admins", "gid": 2000}, {"name": "ops"}],
            "services": {"enable": ["ssh.service", "getty@ttyS0.service"], "disable": ["apt-daily.timer"]},
            "modules": [
                {"name": "br_netfilter", "loadMode": "always", "options": {"foo": "bar", "flag": True, "n": 3}},
                {"name": "floppy", "loadMode": "disable"},
                {"name": "kvm_intel", "options": {"nested": 1}},
                {"name": "e1000", "loadMode": "auto"},
                {"name": "loop", "loadMode": "inherit"},
            ],
            "kernelCommandLine": {"extraCommandLine": ["console=ttyS0,115200n8", "ds=nocloud;s=file:///x/"]},
        },
        "scripts": {
            "postCustomization": [
                {"path": "scripts/post.sh", "interpreter": "/bin/bash", "arguments": ["--flag", "two words"],
                 "environmentVariables": {"FOO": "bar", "N": 3}},
                {"content": "echo inline\n", "name": "inline-step"},
            ],
            "finalizeCustomization": [
                {"content": "echo fin\n", "arguments": "a 'b c'"},
            ],
        },
        "iso": {
            "additionalFiles": {
                "files/motd": "/motd.txt",
                "files/app.conf": [{"path": "/etc/app.conf", "permissions": "600"}, "/etc/app2.conf",
                                   {"path": "/etc/app3.conf"}],
            },
            "kernelCommandLine": {"extraCommandLine": "quiet 'a b' rd.live.overlay.overlayfs=1"},
            "initramfsType": "full-os",
        },
    }


def test_full_config_parses_into_expected_dataclasses(base):
    def j(*parts):
        return os.path.join(base, *parts)

    got = parse_config(full_config(), base)
    expected = Config(
        os=OSConfig(
            hostname="web01.example.com",
            packages=Packages(
                remove=("apt-listchanges", "nano"),
                update_existing=True,
                install=("openssh-server", "curl", "vim-tiny"),
                update=("openssl", "libc6"),
            ),
            additional_files=(
                FileSpec(destination="/etc/motd", source=j("files", "motd"), permissions=0o644),
                FileSpec(destination="/etc/hello.txt", content="hello\n", permissions=0o600),
                FileSpec(destination="/etc/empty", content=""),
                FileSpec(destination="/etc/app.conf", source=j("files", "app.conf"), permissions=0o640),
            ),
            additional_dirs=(
                DirSpec(source=j("dirs", "extra"), destination="/opt/extra", new_dir_permissions=0o755,
                        merged_dir_permissions=0o750, child_file_permissions=0o640),
                DirSpec(source=j("dirs"), destination="/srv/dirs"),
            ),
            users=(
                User(name="admin", uid=1001, password=Password("hashed", HASH), password_expires_days=90,
                     ssh_public_keys=(INLINE_KEY, HEADER_KEY), primary_group="admins",
                     secondary_groups=("sudo", "adm"), home_directory="/home/admin",
                     startup_command="/bin/bash"),
                User(name="svc", password=Password("locked", None)),
                User(name="tmpuser", password=Password("plain-text-forced-expiration", "Tmp-Passw0rd-x1")),
            ),
            groups=(Group("admins", 2000), Group("ops", None)),
            services_enable=("ssh.service", "getty@ttyS0.service"),
            services_disable=("apt-daily.timer",),
            modules=(
                KernelModule("br_netfilter", "always", (("foo", "bar"), ("flag", "1"), ("n", "3"))),
                KernelModule("floppy", "disable", ()),
                KernelModule("kvm_intel", None, (("nested", "1"),)),
                KernelModule("e1000", "auto", ()),
                KernelModule("loop", "inherit", ()),
            ),
            kernel_extra_args=("console=ttyS0,115200n8", "ds=nocloud;s=file:///x/"),
        ),
        scripts=ScriptsConfig(
            post_customization=(
                Script(name="post.sh", interpreter="/bin/bash", path=j("scripts", "post.sh"),
                       arguments=("--flag", "two words"), environment=(("FOO", "bar"), ("N", "3")),
                       config_path="scripts/post.sh"),
                Script(name="inline-step", content="echo inline\n"),
            ),
            finalize_customization=(
                Script(name="finalizeCustomization-0", content="echo fin\n", arguments=("a", "b c")),
            ),
        ),
        iso=IsoConfig(
            additional_files=(
                FileSpec(destination="/motd.txt", source=j("files", "motd")),
                FileSpec(destination="/etc/app.conf", source=j("files", "app.conf"), permissions=0o600),
                FileSpec(destination="/etc/app2.conf", source=j("files", "app.conf")),
                FileSpec(destination="/etc/app3.conf", source=j("files", "app.conf")),
            ),
            kernel_extra_args=("quiet", "a b", "rd.live.overlay.overlayfs=1"),
            initramfs_type="full-os",
            present=True,
        ),
        base_dir=base,
    )
    # Compare section by section first for readable failures, then the whole.
    assert got.os.packages == expected.os.packages
    assert got.os.additional_files == expected.os.additional_files
    assert got.os.additional_dirs == expected.os.additional_dirs
    assert got.os.users == expected.os.users
    assert got.os.modules == expected.os.modules
    assert got.scripts == expected.scripts
    assert got.iso == expected.iso
    assert got == expected
    assert got.os.users[2].password.forced_expiration is True
    assert got.os.users[0].password.forced_expiration is False
    assert got.os.packages.any is True
    assert not got.os.empty and not got.scripts.empty
    assert got.referenced_files() == sorted({
        j("files", "motd"), j("files", "app.conf"), j("dirs", "extra"), j("dirs"), j("scripts", "post.sh")})


def test_empty_and_null_sections():
    got = parse_config({})
    assert got == Config()
    assert got.os.empty and got.scripts.empty and got.iso.present is False
    assert got.iso.initramfs_type == "bootstrap"
    assert parse_config(None) == Config()
    assert parse_config({"os": None, "scripts": None}) == Config()
    # An empty iso section is present (and defaults apply); a null one is not.
    assert parse_config({"iso": {}}).iso == IsoConfig(present=True)
    assert parse_config({"iso": None}).iso.present is False


def test_yaml_int_permissions_read_as_octal_digits():
    got = parse_config({"os": {"additionalFiles": [{"content": "x", "destination": "/x", "permissions": 755}]}})
    assert got.os.additional_files[0].permissions == 0o755


def test_password_not_in_repr():
    password = {"type": "plain-text", "value": "Repr-Secret-123"}
    got = parse_config({"os": {"users": [{"name": "bob", "password": password}]}})
    assert "Repr-Secret-123" not in repr(got)


def test_script_default_names():
    got = parse_config({"scripts": {"postCustomization": [{"content": "a"}, {"content": "b"}]}})
    assert [s.name for s in got.scripts.post_customization] == ["postCustomization-0", "postCustomization-1"]
    assert got.scripts.post_customization[0].interpreter == "/bin/sh"


# ------------------------------------------------------------------ invalid configs

def _abs_missing(b):
    return os.path.join(b, "files", "does-not-exist")


INVALID = [
    # (id, builder(base) -> config, expected path (str or callable(base)), message fragment)
    ("unknown-top", lambda b: {"osx": {}}, "config.osx", "unknown key"),
    ("unknown-os", lambda b: {"os": {"hostName": "x"}}, "config.os.hostName", "unknown key"),
    ("unknown-user-key", lambda b: {"os": {"users": [{"name": "a"}, {"name": "b", "shell": "/bin/sh"}]}},
     "config.os.users[1].shell", "unknown key"),
    ("unknown-password-key", lambda b: {"os": {"users": [
        {"name": "a", "password": {"type": "locked", "hash": "x"}}]}},
     "config.os.users[0].password.hash", "unknown key"),
    ("unknown-file-key", lambda b: {"os": {"additionalFiles": [{"content": "x", "destination": "/x",
                                                                "owner": "root"}]}},
     "config.os.additionalFiles[0].owner", "unknown key"),
    ("unknown-mapform-key", lambda b: {"os": {"additionalFiles": {"files/motd": [{"path": "/m", "mode": "644"}]}}},
     'config.os.additionalFiles["files/motd"][0].mode', "unknown key"),
    ("unknown-iso-cmdline-key", lambda b: {"iso": {"kernelCommandLine": {"extra": "x"}}},
     "config.iso.kernelCommandLine.extra", "unknown key"),
    ("unknown-scripts-key", lambda b: {"scripts": {"preCustomization": []}},
     "config.scripts.preCustomization", "unknown key"),
    ("storage-boottype-without-disks", lambda b: {"storage": {"bootType": "efi"}}, "config.storage",
     "cannot specify 'bootType' without specifying 'disks'"),
    ("unknown-previewFeature", lambda b: {"previewFeatures": ["nope"]}, "config.previewFeatures[0]",
     "invalid preview feature: nope"),
    ("uki-bad-mode", lambda b: {"previewFeatures": ["uki"], "os": {"uki": {"mode": "make"}}},
     "config.os.uki.mode", "'make' is not one of create, passthrough, modify"),
    ("uki-without-mode", lambda b: {"previewFeatures": ["uki"], "os": {"uki": {}}}, "config.os.uki.mode",
     "is required"),
    ("selinux-bad-mode", lambda b: {"os": {"selinux": {"mode": "on"}}}, "config.os.selinux.mode",
     "'on' is not one of disabled, permissive, enforcing, force-enforcing"),
    ("iso-kdump-without-feature", lambda b: {"iso": {"kdumpBootFiles": "keep"}}, "config.previewFeatures",
     "the 'kdump-boot-files' preview feature must be enabled to use 'iso.kdumpBootFiles'"),
    ("root-not-mapping", lambda b: ["os"], "config", "must be a mapping, got a list"),
    ("os-not-mapping", lambda b: {"os": ["hostname"]}, "config.os", "must be a mapping, got a list"),
    ("hostname-bool", lambda b: {"os": {"hostname": True}}, "config.os.hostname", "must be a string, got a boolean"),
    ("hostname-underscore", lambda b: {"os": {"hostname": "bad_host"}}, "config.os.hostname",
     "'bad_host' is not a valid DNS host name"),
    ("hostname-leading-dash", lambda b: {"os": {"hostname": "-web"}}, "config.os.hostname",
     "'-web' is not a valid DNS host name"),
    ("hostname-long-label", lambda b: {"os": {"hostname": "a" * 64}}, "config.os.hostname",
     "is not a valid DNS host name"),
    ("permissions-999", lambda b: {"os": {"additionalFiles": [
        {"content": "a", "destination": "/a"}, {"content": "b", "destination": "/b", "permissions": "999"}]}},
     "config.os.additionalFiles[1].permissions", "'999' is not an octal mode"),
    ("permissions-int-888", lambda b: {"os": {"additionalFiles": [
        {"content": "a", "destination": "/a", "permissions": 888}]}},
     "config.os.additionalFiles[0].permissions", "'888' is not an octal mode"),
    ("permissions-5-digits", lambda b: {"os": {"additionalFiles": [
        {"content": "a", "destination": "/a", "permissions": "07555"}]}},
     "config.os.additionalFiles[0].permissions", "'07555' is not an octal mode"),
    ("permissions-bool", lambda b: {"os": {"additionalFiles": [
        {"content": "a", "destination": "/a", "permissions": True}]}},
     "config.os.additionalFiles[0].permissions", "must be an octal mode string like '644', got a boolean"),
    ("dir-permissions-bad", lambda b: {"os": {"additionalDirs": [
        {"source": "dirs/extra", "destination": "/opt/x", "childFilePermissions": "rw-r--r--"}]}},
     "config.os.additionalDirs[0].childFilePermissions", "'rw-r--r--' is not an octal mode"),
    ("relative-source-without-base", None, "config.os.additionalFiles[0].source",
     "relative path 'files/motd' needs a base directory"),
    ("missing-source-file", lambda b: {"os": {"additionalFiles": [
        {"source": _abs_missing(b), "destination": "/x"}]}},
     "config.os.additionalFiles[0].source", "file not found: "),
    ("source-is-a-dir", lambda b: {"os": {"additionalFiles": [{"source": "dirs", "destination": "/x"}]}},
     "config.os.additionalFiles[0].source", "additionalFiles source file is not a file (source='dirs')"),
    ("both-source-and-content", lambda b: {"os": {"additionalFiles": [
        {"source": "files/motd", "content": "x", "destination": "/x"}]}},
     "config.os.additionalFiles[0]", "needs exactly one of source and content"),
    ("neither-source-nor-content", lambda b: {"os": {"additionalFiles": [{"destination": "/x"}]}},
     "config.os.additionalFiles[0]", "needs exactly one of source and content"),
    ("destination-missing", lambda b: {"os": {"additionalFiles": [{"content": "x"}]}},
     "config.os.additionalFiles[0].destination", "is required"),
    ("destination-dotdot", lambda b: {"os": {"additionalFiles": [{"content": "x",
                                                                  "destination": "/etc/../root/.ssh/x"}]}},
     "config.os.additionalFiles[0].destination", "'/etc/../root/.ssh/x' contains '..'"),
    ("iso-destination-dotdot-mapform", lambda b: {"iso": {"additionalFiles": {"files/motd": "/../x"}}},
     'config.iso.additionalFiles["files/motd"]', "contains '..'"),
    ("mapform-empty-list", lambda b: {"os": {"additionalFiles": {"files/motd": []}}},
     'config.os.additionalFiles["files/motd"]', "lists no destination"),
    ("mapform-int-target", lambda b: {"os": {"additionalFiles": {"files/motd": [7]}}},
     'config.os.additionalFiles["files/motd"][0]', "must be a destination path or {path, permissions}, got an integer"),
    ("mapform-missing-path", lambda b: {"os": {"additionalFiles": {"files/motd": [{"permissions": "600"}]}}},
     'config.os.additionalFiles["files/motd"][0].path', "is required"),
    ("mapform-missing-source", lambda b: {"os": {"additionalFiles": {"files/nope": "/x"}}},
     'config.os.additionalFiles["files/nope"]', "file not found: "),
    ("additionalFiles-string", lambda b: {"os": {"additionalFiles": "/etc/motd"}},
     "config.os.additionalFiles", "must be a list, got a string"),
    ("dirs-missing-destination", lambda b: {"os": {"additionalDirs": [{"source": "dirs/extra"}]}},
     "config.os.additionalDirs[0].destination", "is required"),
    ("dirs-source-is-file", lambda b: {"os": {"additionalDirs": [{"source": "files/motd", "destination": "/x"}]}},
     "config.os.additionalDirs[0].source", "additionalDirs source exists but is a file (source='files/motd')"),
    ("user-bad-name", lambda b: {"os": {"users": [{"name": "Admin"}]}}, "config.os.users[0].name",
     "'Admin' is not a valid user name"),
    ("user-missing-name", lambda b: {"os": {"users": [{"uid": 5}]}}, "config.os.users[0].name", "is required"),
    ("user-duplicate", lambda b: {"os": {"users": [{"name": "bob"}, {"name": "ann"}, {"name": "bob"}]}},
     "config.os.users[2].name", "user 'bob' is listed twice"),
    ("plain-text-without-value", lambda b: {"os": {"users": [{"name": "bob", "password": {"type": "plain-text"}}]}},
     "config.os.users[0].password.value", "is required for type plain-text"),
    ("hashed-empty-value", lambda b: {"os": {"users": [{"name": "bob", "password": {"type": "hashed",
                                                                                    "value": ""}}]}},
     "config.os.users[0].password.value", "must not be empty"),
    ("password-bad-type", lambda b: {"os": {"users": [{"name": "bob", "password": {"type": "clear", "value": "x"}}]}},
     "config.os.users[0].password.type", "'clear' is not one of locked, plain-text, hashed"),
    ("password-missing-type", lambda b: {"os": {"users": [{"name": "bob", "password": {"value": "xxxx"}}]}},
     "config.os.users[0].password.type", "is required"),
    ("uid-negative", lambda b: {"os": {"users": [{"name": "bob", "uid": -1}]}}, "config.os.users[0].uid",
     "-1 is out of range 0..4294967294"),
    ("uid-string", lambda b: {"os": {"users": [{"name": "bob", "uid": "1000"}]}}, "config.os.users[0].uid",
     "must be an integer, got a string"),
    ("uid-bool", lambda b: {"os": {"users": [{"name": "bob", "uid": True}]}}, "config.os.users[0].uid",
     "must be an integer, got a boolean"),
    ("password-expires-out-of-range", lambda b: {"os": {"users": [{"name": "bob", "passwordExpiresDays": 100000}]}},
     "config.os.users[0].passwordExpiresDays", "100000 is out of range -1..99999"),
    ("secondary-group-bad", lambda b: {"os": {"users": [{"name": "bob", "secondaryGroups": ["sudo", "Wheel!"]}]}},
     "config.os.users[0].secondaryGroups[1]", "'Wheel!' is not a valid group name"),
    ("ssh-key-path-missing", lambda b: {"os": {"users": [{"name": "bob", "sshPublicKeyPaths": ["keys/none.pub"]}]}},
     "config.os.users[0].sshPublicKeyPaths[0]", "file not found: "),
    ("ssh-keys-not-list", lambda b: {"os": {"users": [{"name": "bob", "sshPublicKeys": "ssh-ed25519 AAAA"}]}},
     "config.os.users[0].sshPublicKeys", "must be a list, got a string"),
    ("group-bad-name", lambda b: {"os": {"groups": [{"name": "ops"}, {"name": "9 lives"}]}},
     "config.os.groups[1].name", "'9 lives' is not a valid group name"),
    ("group-gid-range", lambda b: {"os": {"groups": [{"name": "ops", "gid": 4294967295}]}},
     "config.os.groups[0].gid", "4294967295 is out of range 0..4294967294"),
    ("module-bad-loadmode", lambda b: {"os": {"modules": [{"name": "loop", "loadMode": "sometimes"}]}},
     "config.os.modules[0].loadMode", "'sometimes' is not one of always, auto, disable, inherit"),
    ("module-options-with-disable", lambda b: {"os": {"modules": [
        {"name": "floppy", "loadMode": "disable", "options": {"x": 1}}]}},
     "config.os.modules[0].options", "cannot be set on a module whose loadMode is disable"),
    ("module-bad-name", lambda b: {"os": {"modules": [{"name": "bad mod"}]}}, "config.os.modules[0].name",
     "'bad mod' is not a valid kernel module name"),
    ("module-bad-option-name", lambda b: {"os": {"modules": [{"name": "loop", "options": {"max part": 8}}]}},
     "config.os.modules[0].options.max part", "is not a valid module parameter name"),
    ("module-option-list-value", lambda b: {"os": {"modules": [{"name": "loop", "options": {"max_part": [8]}}]}},
     "config.os.modules[0].options.max_part", "must be a string or number"),
    ("services-both", lambda b: {"os": {"services": {"enable": ["ssh.service", "cron.service"],
                                                     "disable": ["cron.service"]}}},
     "config.os.services", "cron.service both enabled and disabled"),
    ("services-enable-string", lambda b: {"os": {"services": {"enable": "ssh.service"}}},
     "config.os.services.enable", "must be a list, got a string"),
    ("services-bad-unit", lambda b: {"os": {"services": {"disable": ["bad unit"]}}},
     "config.os.services.disable[0]", "'bad unit' is not a valid unit name"),
    ("package-bad-name", lambda b: {"os": {"packages": {"install": ["curl", "-rf"]}}},
     "config.os.packages.install[1]", "'-rf' is not a valid package name"),
    ("update-existing-not-bool", lambda b: {"os": {"packages": {"updateExistingPackages": "maybe"}}},
     "config.os.packages.updateExistingPackages", "must be true or false, got a string"),
    ("install-list-unknown-key", lambda b: {"os": {"packages": {"installLists": ["lists/badkey.yaml"]}}},
     lambda b: "config.os.packages.installLists[0](%s).pkgs" % os.path.join(b, "lists", "badkey.yaml"),
     "unknown key"),
    ("install-list-invalid-yaml", lambda b: {"os": {"packages": {"installLists": ["lists/broken.yaml"]}}},
     "config.os.packages.installLists[0]", "cannot read package list"),
    ("install-list-missing", lambda b: {"os": {"packages": {"removeLists": ["lists/none.yaml"]}}},
     "config.os.packages.removeLists[0]", "file not found: "),
    ("cmdline-newline", lambda b: {"os": {"kernelCommandLine": {"extraCommandLine": ["quiet", "a\nb"]}}},
     "config.os.kernelCommandLine.extraCommandLine[1]", "must not contain a newline"),
    ("cmdline-unbalanced-string", lambda b: {"iso": {"kernelCommandLine": {"extraCommandLine": "quiet 'a"}}},
     "config.iso.kernelCommandLine.extraCommandLine", "cannot be split into arguments"),
    ("cmdline-int-item", lambda b: {"os": {"kernelCommandLine": {"extraCommandLine": ["quiet", True]}}},
     "config.os.kernelCommandLine.extraCommandLine[1]", "must be a string, got a boolean"),
    ("env-bad-name", lambda b: {"scripts": {"postCustomization": [
        {"content": "true", "environmentVariables": {"OK": "1", "1BAD": "x"}}]}},
     "config.scripts.postCustomization[0].environmentVariables.1BAD", "is not a valid variable name"),
    ("env-list-value", lambda b: {"scripts": {"finalizeCustomization": [
        {"content": "true", "environmentVariables": {"A": ["x"]}}]}},
     "config.scripts.finalizeCustomization[0].environmentVariables.A", "must be a string"),
    ("script-both-path-and-content", lambda b: {"scripts": {"postCustomization": [
        {"content": "true"}, {"path": "scripts/post.sh", "content": "true"}]}},
     "config.scripts.postCustomization[1]", "path and content may not both have a value"),
    ("script-missing-path", lambda b: {"scripts": {"postCustomization": [{"path": "scripts/none.sh"}]}},
     "config.scripts.postCustomization[0].path", "file not found: "),
    ("script-arguments-int", lambda b: {"scripts": {"postCustomization": [{"content": "true", "arguments": [True]}]}},
     "config.scripts.postCustomization[0].arguments[0]", "must be a string, got a boolean"),
    ("bad-initramfs-type", lambda b: {"iso": {"initramfsType": "tiny"}}, "config.iso.initramfsType",
     "'tiny' is not one of bootstrap, full-os"),
    ("iso-not-mapping", lambda b: {"iso": "yes"}, "config.iso", "must be a mapping, got a string"),
]

# Inputs that are invalid but currently escape as a bare Python exception instead of a ConfigError.
INVALID_BUGS = [
    ("module-options-int", lambda b: {"os": {"modules": [{"name": "loop", "options": 8}]}},
     "config.os.modules[0].options", "must be a mapping"),
    ("module-options-list-of-maps", lambda b: {"os": {"modules": [{"name": "loop", "options": [{"max_part": 8}]}]}},
     "config.os.modules[0].options", "must be a mapping"),
    ("env-list-of-maps", lambda b: {"scripts": {"postCustomization": [
        {"content": "true", "environmentVariables": [{"A": "1"}]}]}},
     "config.scripts.postCustomization[0].environmentVariables", "must be a mapping"),
    ("script-arguments-unbalanced-string", lambda b: {"scripts": {"postCustomization": [
        {"content": "true", "arguments": "a 'b"}]}},
     "config.scripts.postCustomization[0].arguments", "cannot be split"),
]


def _check_invalid(base, builder, path, fragment):
    if builder is None:  # relative path without a base directory
        data, base_dir = {"os": {"additionalFiles": [{"source": "files/motd", "destination": "/m"}]}}, None
    else:
        data, base_dir = builder(base), base
    expected_path = path(base) if callable(path) else path
    with pytest.raises(ConfigError) as info:
        parse_config(data, base_dir)
    err = info.value
    assert err.path == expected_path
    assert fragment in err.message
    assert err.message.startswith(expected_path + ": ")
    assert str(err).startswith(expected_path + ": ")


@pytest.mark.parametrize("builder,path,fragment", [case[1:] for case in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_config(base, builder, path, fragment):
    _check_invalid(base, builder, path, fragment)


def test_invalid_table_is_big_enough():
    assert len(INVALID) >= 30
    assert len({c[0] for c in INVALID}) == len(INVALID)


@pytest.mark.parametrize("builder,path,fragment", [case[1:] for case in INVALID_BUGS],
                         ids=[c[0] for c in INVALID_BUGS])
def test_invalid_config_raises_config_error_not_python_error(base, builder, path, fragment):
    _check_invalid(base, builder, path, fragment)


def test_unsupported_key_has_hint():
    with pytest.raises(ConfigError) as info:
        parse_config({"previewFeatures": ["input-image-oci"], "input": {"image": {"oci": {"uri": "x"}}}})
    assert info.value.hint and "input.image.path" in info.value.hint
    with pytest.raises(ConfigError) as info:
        parse_config({"os": {"hostnme": "x"}})
    assert "Supported here:" in info.value.hint and "hostname" in info.value.hint


def test_locked_password_without_value_is_fine():
    got = parse_config({"os": {"users": [{"name": "svc", "password": {"type": "locked"}}]}})
    assert got.os.users[0].password == Password("locked", None)
    # a value given with locked is ignored, never kept
    got = parse_config({"os": {"users": [{"name": "svc", "password": {"type": "locked", "value": "zzzz"}}]}})
    assert got.os.users[0].password.value is None


# ------------------------------------------------------------------ load_config

def test_load_config_file_base_dir_is_file_directory(base):
    path = write(os.path.join(base, "config.yaml"), yaml.safe_dump(
        {"os": {"additionalFiles": [{"source": "files/motd", "destination": "/etc/motd"}]}}))
    got = load_config(config_file=path)
    assert got.base_dir == base
    assert got.os.additional_files[0].source == os.path.join(base, "files", "motd")


def test_load_config_file_relative_name(base, monkeypatch):
    write(os.path.join(base, "c.yaml"), "os:\n  additionalFiles:\n    files/motd: /etc/motd\n")
    monkeypatch.chdir(base)
    got = load_config(config_file="c.yaml")
    assert got.base_dir == base
    assert got.os.additional_files == (FileSpec(destination="/etc/motd", source=os.path.join(base, "files/motd")),)


def test_load_config_dir_overrides_file_directory(base, tmp_path):
    other = tmp_path / "elsewhere"
    write(other / "files" / "motd", "other\n")
    path = write(os.path.join(base, "config.yaml"),
                 "os:\n  additionalFiles:\n    - source: files/motd\n      destination: /etc/motd\n")
    got = load_config(config_file=path, config_dir=str(other))
    assert got.base_dir == str(other)
    assert got.os.additional_files[0].source == str(other / "files" / "motd")


def test_load_config_dict_with_relative_config_dir(base, monkeypatch):
    monkeypatch.chdir(os.path.dirname(base))
    got = load_config(config={"os": {"additionalFiles": [{"source": "files/motd", "destination": "/m"}]}},
                      config_dir="base")
    assert got.base_dir == base
    assert got.os.additional_files[0].source == os.path.join(base, "files", "motd")


def test_load_config_dict_without_dir_rejects_relative_paths():
    with pytest.raises(ConfigError) as info:
        load_config(config={"scripts": {"postCustomization": [{"path": "s.sh"}]}})
    assert info.value.path == "config.scripts.postCustomization[0].path"
    assert "needs a base directory" in info.value.message


def test_load_config_mutually_exclusive(base):
    path = write(os.path.join(base, "config.yaml"), "{}\n")
    with pytest.raises(ConfigError) as info:
        load_config(config={}, config_file=path)
    assert info.value.path == "config"
    assert "mutually exclusive" in info.value.message


def test_load_config_invalid_yaml(tmp_path):
    path = write(tmp_path / "bad.yaml", "os:\n  hostname: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(config_file=path)
    assert info.value.path == "config_file"
    assert "%s is not valid YAML" % path in info.value.message


def test_load_config_missing_file(tmp_path):
    path = str(tmp_path / "none.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(config_file=path)
    assert info.value.path == "config_file"
    assert info.value.message == "config_file: cannot read %s: No such file or directory" % path


def test_load_config_missing_config_dir(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(config={}, config_dir=str(tmp_path / "nope"))
    assert info.value.path == "config_dir"
    assert "directory not found" in info.value.message


def test_load_config_empty_file_is_empty_config(tmp_path):
    path = write(tmp_path / "empty.yaml", "")
    assert load_config(config_file=path) == Config(base_dir=str(tmp_path))


def test_load_config_yaml_list_is_rejected(tmp_path):
    path = write(tmp_path / "list.yaml", "- os\n")
    with pytest.raises(ConfigError) as info:
        load_config(config_file=path)
    assert info.value.path == "config"
    assert "must be a mapping, got a list" in info.value.message


def test_password_value_is_registered_as_secret():
    secret = "Zq-plain-secret-7781"
    assert secrets.redact("pw=%s;" % secret) == "pw=%s;" % secret  # not yet registered
    load_config(config={"os": {"users": [{"name": "bob", "password": {"type": "plain-text", "value": secret}}]}})
    assert secrets.redact("pw=%s;" % secret) == "pw=********;"
    hashed = "$6$abc$Zq-hashed-secret-0042"
    load_config(config={"os": {"users": [{"name": "ann", "password": {"type": "hashed", "value": hashed}}]}})
    assert secret not in secrets.redact("%s %s" % (secret, hashed))
    assert secrets.redact("x %s y" % hashed) == "x ******** y"


def test_yaml_leading_zero_permissions_not_silently_wrong(tmp_path):
    path = write(tmp_path / "c.yaml",
                 "os:\n  additionalFiles:\n    - content: x\n      destination: /x\n      permissions: 0644\n")
    try:
        got = load_config(config_file=path)
    except ConfigError:
        return  # rejecting the ambiguous value would be fine too
    assert got.os.additional_files[0].permissions == 0o644


def test_parse_mode_forms():
    assert cfg.parse_mode("644", "p") == 0o644
    assert cfg.parse_mode("0755", "p") == 0o755
    assert cfg.parse_mode("0o700", "p") == 0o700
    assert cfg.parse_mode(" 600 ", "p") == 0o600
    assert cfg.parse_mode(4755, "p") == 0o4755
    with pytest.raises(ConfigError) as info:
        cfg.parse_mode("8", "x.y")
    assert info.value.path == "x.y"
    assert info.value.hint == "Use a string like '644' or '0755'."


@pytest.mark.parametrize("value,expected", [(644, 0o644), (755, 0o755), (600, 0o600), (4755, 0o4755)])
def test_unquoted_int_modes_read_as_octal_digits(value, expected):
    assert cfg.parse_mode(value, "p") == expected


@pytest.mark.parametrize("value", [420, 416, 436, 256])  # YAML 1.1's readings of 0644, 0640, 0664, 0400
def test_yaml_decimal_readings_of_octal_are_refused(value):
    with pytest.raises(ConfigError) as info:
        cfg.parse_mode(value, "config.os.additionalFiles[0].permissions")
    assert "looks like YAML's reading of an unquoted octal number" in str(info.value)
    assert "Quote the mode" in str(info.value)


# ------------------------------------------------------------------ closed sets

def test_closed_sets_parse_to_their_enums():
    got = parse_config({"os": {"users": [{"name": "ann", "password": {"type": "hashed-forced-expiration",
                                                                      "value": HASH}}],
                               "modules": [{"name": "floppy", "loadMode": "disable"}]},
                        "iso": {"initramfsType": "full-os"}})
    password = got.os.users[0].password
    assert password is not None and password.type is cfg.PasswordType.HASHED_FORCED_EXPIRATION
    assert got.os.modules[0].load_mode is cfg.LoadMode.DISABLE
    assert got.iso.initramfs_type is cfg.InitramfsType.FULL_OS
    # str-valued: equal to, and shown as, the config's string
    assert password.type == "hashed-forced-expiration" and str(password.type) == "hashed-forced-expiration"
    assert "%s" % got.iso.initramfs_type == "full-os" and "{}".format(got.os.modules[0].load_mode) == "disable"
    assert parse_config({}).iso.initramfs_type is cfg.InitramfsType.BOOTSTRAP


@pytest.mark.parametrize("member,needs_value,forced", [
    ("locked", False, False), ("plain-text", True, False), ("hashed", True, False),
    ("plain-text-forced-expiration", True, True), ("hashed-forced-expiration", True, True)])
def test_password_types(member, needs_value, forced):
    kind = cfg.PasswordType(member)
    assert (kind.needs_value, kind.forced_expiration) == (needs_value, forced)
    assert Password(member).forced_expiration is forced


def test_model_accepts_the_config_strings():
    """The dataclasses take the old strings too, and hold the enum members."""
    assert Password("locked").type is cfg.PasswordType.LOCKED
    assert KernelModule("loop", "always").load_mode is cfg.LoadMode.ALWAYS
    assert KernelModule("loop").load_mode is None
    assert IsoConfig(initramfs_type="full-os").initramfs_type is cfg.InitramfsType.FULL_OS
    with pytest.raises(ValueError):
        Password("clear")


def test_load_modes_and_service_states():
    assert [mode.value for mode in cfg.LoadMode if not mode.takes_options] == ["disable"]
    assert [state.value for state in cfg.ServiceState] == ["enable", "disable"]
