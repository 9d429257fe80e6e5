# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The customization steps, each ``verb_noun(ctx)``, in the reference order (private to this collection).

:data:`OS_STEPS` is the ordered list the pipeline runs while the image has
the host's DNS and services are held; :data:`FINALIZE_STEPS` runs after the
image's own resolv.conf is back. A step whose config section is empty is
skipped. Steps read only the typed config (:mod:`config`) and write only
through confined paths (:meth:`Chroot.path`).
"""

from __future__ import annotations

import contextlib
import os
import stat
from typing import TYPE_CHECKING, Callable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union, overload

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import (
    CommandError,
    ConfigError,
    ScriptError,
    StepError,
    os_errors_as,
    user_os_error,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import atomic_write
from ansible_collections.liveiso.customizer.plugins.module_utils._core.protocols import StepTimer
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import Result, tail
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot, host_dns, services_held
from ansible_collections.liveiso.customizer.plugins.module_utils._image import selinux
from ansible_collections.liveiso.customizer.plugins.module_utils._image.boot_reset import hard_reset
from ansible_collections.liveiso.customizer.plugins.module_utils._image.image_history import write_history
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import update_boot_configs
from ansible_collections.liveiso.customizer.plugins.module_utils._image.mounts import mounted
from ansible_collections.liveiso.customizer.plugins.module_utils._image.overlays import enable_overlays
from ansible_collections.liveiso.customizer.plugins.module_utils._image.package_extras import (
    installed_version,
    remove_package_manager,
    snapshot_options,
    with_options,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.package_managers import detect

if TYPE_CHECKING:  # the config model is read, never built, here
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import Config, Script

MODULES_LOAD_FILE: str = "/etc/modules-load.d/modules-load.conf"
MODULES_DISABLED_FILE: str = "/etc/modprobe.d/modules-disabled.conf"
MODULE_OPTIONS_FILE: str = "/etc/modprobe.d/module-options.conf"
# Where user scripts are copied inside the image while they run (removed after; left out of a live root).
# Where earlier releases copied user scripts inside the image (left out of a live root, should one remain).
SCRIPT_DIR: str = "/var/tmp/liveiso-customizer-scripts"
INLINE_SCRIPT_DIR: str = "/tmp"  # inline scripts are written here (the reference's place), removed after
CONFIG_DIR_IN_IMAGE: str = "/_imageconfigs"  # the config directory, bind-mounted read-only while scripts run
DEFAULT_CHILD_MODE: int = 0o755  # additionalDirs: new directories and files, as the reference


class StepContext(object):
    """What a step works with: the chroot of the mounted image and the typed config."""

    def __init__(self, chroot: Chroot, config: Config) -> None:
        self.chroot = chroot
        self.config = config
        self.notes: List[str] = []  # facts worth returning to the user


class Step(NamedTuple):
    """A named customization step and the test that says whether a config wants it."""

    name: str
    func: Callable[[StepContext], None]
    wanted: Callable[[Config], bool]

    def __repr__(self) -> str:
        return "Step(%s)" % self.name


class PasswdEntry(NamedTuple):
    uid: int
    gid: int
    home: str


# ---------------------------------------------------------------- file helpers

def write_image_file(chroot: Chroot, image_path: str, data: Union[bytes, str], mode: int = 0o644, uid: int = 0,
                     gid: int = 0) -> str:
    """Atomically write ``data`` (bytes or str) to ``image_path`` inside the image; return its host path."""
    target = chroot.path(image_path)
    if os.path.isdir(target) and not os.path.islink(target):
        raise StepError("cannot write %s: a directory is in the way." % image_path)
    with os_errors_as("write %s in the image" % image_path, target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # no fsync: the work copy is synced as a whole when it is unmounted, and thrown away on failure
        atomic_write(target, data, mode, owner=(uid, gid), fsync=False)
    return target


@overload
def read_image_file(chroot: Chroot, image_path: str, default: str = "") -> str:
    ...


@overload
def read_image_file(chroot: Chroot, image_path: str, default: None) -> Optional[str]:
    ...


def read_image_file(chroot: Chroot, image_path: str, default: Optional[str] = "") -> Optional[str]:
    """The text of ``image_path`` in the image, or ``default`` when it does not exist."""
    try:
        with open(chroot.path(image_path)) as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return default
    except OSError as exc:
        raise user_os_error(exc, "read %s in the image" % image_path) from exc


def passwd_entry(chroot: Chroot, name: str) -> Optional[PasswdEntry]:
    """(uid, gid, home) of ``name`` from the image's /etc/passwd, or None."""
    for line in read_image_file(chroot, "/etc/passwd").splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[0] == name:
            return PasswdEntry(int(fields[2]), int(fields[3]), fields[5])
    return None


def group_exists(chroot: Chroot, name: str) -> bool:
    return any(line.split(":")[0] == name for line in read_image_file(chroot, "/etc/group").splitlines())


def _chroot_step(chroot: Chroot, argv: Sequence[str], what: str, key: Optional[str] = None,
                 input: Optional[str] = None) -> Result:
    try:
        return chroot.run(argv, what=what, input=input)
    except CommandError as err:
        prefix = key + ": " if key else ""
        raise StepError("%s%s failed (exit %s): %s" % (prefix, what, err.returncode, err.output_tail)) from err


def _read_host_file(path: str, key: str) -> bytes:
    """The bytes of host file ``path`` that config key ``key`` names."""
    with os_errors_as("read %s" % key, path), open(path, "rb") as handle:
        return handle.read()


def _raise(exc: OSError) -> None:
    raise exc


def _walk(top: str, key: str) -> Iterator[Tuple[str, List[str], List[str]]]:
    """``os.walk(top)`` for config key ``key``, raising on a directory it cannot read (os.walk skips it)."""
    with os_errors_as("read %s" % key):
        yield from os.walk(top, onerror=_raise)


# ---------------------------------------------------------------- steps

def install_packages(ctx: StepContext) -> None:
    """remove -> update existing -> install -> update, with the image's own package manager."""
    packages = ctx.config.os.packages
    manager = detect(ctx.chroot)
    ctx.notes.append("package manager: %s" % manager.name)
    snapshot: List[str] = []
    if packages.snapshot_time:
        apt_version = installed_version(ctx.chroot, "apt") if manager.name == "apt" else None
        snapshot = snapshot_options(manager, packages.snapshot_time, apt_version)
        ctx.notes.append("package snapshot: %s (%s)" % (packages.snapshot_time, " ".join(snapshot)))

    def pm(argv: List[str], key: str, what: str) -> None:
        argv = with_options(argv, snapshot) or argv
        try:
            ctx.chroot.run(argv, env=manager.env, what=what, timeout=3600)
        except CommandError as err:
            raise StepError("config.os.packages.%s: %s failed (exit %s): %s"
                            % (key, what, err.returncode, err.output_tail),
                            "Check the package names and that the image's repositories are reachable.") from err

    refresh = manager.refresh()
    if refresh:
        pm(refresh, "install", "%s (refreshing package lists)" % " ".join(refresh[:2]))
    if packages.remove:
        pm(manager.remove(packages.remove), "remove", "removing %s" % ", ".join(packages.remove))
    if packages.update_existing:
        pm(manager.upgrade_all(), "updateExistingPackages", "updating all packages")
    if packages.install:
        pm(manager.install(packages.install), "install", "installing %s" % ", ".join(packages.install))
    if packages.update:
        pm(manager.update(packages.update), "update", "updating %s" % ", ".join(packages.update))
    clean = manager.clean()
    if clean:
        ctx.chroot.run(clean, env=manager.env, check=False)


def set_hostname(ctx: StepContext) -> None:
    hostname = ctx.config.os.hostname
    if hostname is None:  # the step is wanted only with a hostname
        return
    write_image_file(ctx.chroot, "/etc/hostname", hostname + "\n")
    hosts = read_image_file(ctx.chroot, "/etc/hosts", None)
    if hosts is not None:
        lines = hosts.splitlines()
        short = hostname.split(".")[0]
        entry = "127.0.1.1\t%s" % (hostname if short == hostname else "%s %s" % (hostname, short))
        replaced = False
        for index, line in enumerate(lines):
            if line.split() and line.split()[0] == "127.0.1.1":
                lines[index] = entry
                replaced = True
        if not replaced:
            lines.append(entry)
        write_image_file(ctx.chroot, "/etc/hosts", "\n".join(lines) + "\n")


def create_groups(ctx: StepContext) -> None:
    for index, group in enumerate(ctx.config.os.groups):
        key = "config.os.groups[%d]" % index
        if group_exists(ctx.chroot, group.name):
            if group.gid is not None:
                _chroot_step(ctx.chroot, ["groupmod", "--gid", str(group.gid), group.name],
                             "setting gid of group %s" % group.name, key)
            continue
        argv = ["groupadd"] + (["--gid", str(group.gid)] if group.gid is not None else []) + [group.name]
        _chroot_step(ctx.chroot, argv, "creating group %s" % group.name, key)


def configure_users(ctx: StepContext) -> None:
    for index, user in enumerate(ctx.config.os.users):
        key = "config.os.users[%d]" % index
        for group in ([user.primary_group] if user.primary_group else []) + list(user.secondary_groups):
            if not group_exists(ctx.chroot, group):
                raise ConfigError(key, "group %r does not exist in the image" % group,
                                  "Add it under os.groups.")
        options: List[str] = []
        if user.uid is not None:
            options += ["--uid", str(user.uid)]
        if user.primary_group:
            options += ["--gid", user.primary_group]
        if user.secondary_groups:
            options += ["--groups", ",".join(user.secondary_groups)]
        if user.home_directory:
            options += ["--home", user.home_directory]
        if user.startup_command:
            options += ["--shell", user.startup_command]
        if passwd_entry(ctx.chroot, user.name) is None:
            argv = ["useradd", "--create-home"] + options
            if not user.startup_command:
                argv += ["--shell", "/bin/bash" if ctx.chroot.exists("/bin/bash") else "/bin/sh"]
            _chroot_step(ctx.chroot, argv + ["--", user.name], "creating user %s" % user.name, key)
        elif options:
            if user.home_directory:
                options.append("--move-home")
            if user.secondary_groups:
                options.append("--append")
            _chroot_step(ctx.chroot, ["usermod"] + options + ["--", user.name], "changing user %s" % user.name,
                         key)
        password = user.password
        if password is not None:
            if password.type == "locked":
                _chroot_step(ctx.chroot, ["usermod", "--lock", "--", user.name], "locking user %s" % user.name,
                             key)
            else:
                argv = ["chpasswd"] + (["--encrypted"] if password.type.hashed else [])
                # The secret travels on stdin only: never in argv, logs or errors.
                _chroot_step(ctx.chroot, argv, "setting the password of %s" % user.name, key,
                             input="%s:%s\n" % (user.name, password.value))
                if password.forced_expiration:
                    _chroot_step(ctx.chroot, ["chage", "--lastday", "0", "--", user.name],
                                 "expiring the password of %s" % user.name, key)
        if user.password_expires_days is not None:
            _chroot_step(ctx.chroot, ["chage", "--maxdays", str(user.password_expires_days), "--", user.name],
                         "setting password expiry of %s" % user.name, key)
        if user.ssh_public_keys:
            entry = passwd_entry(ctx.chroot, user.name)
            if entry is None:
                raise StepError("%s: user %s is not in the image's /etc/passwd after useradd." % (key, user.name),
                                "Check the image's user database (/etc/passwd, nsswitch.conf).")
            uid, gid, home = entry
            ssh_dir = ctx.chroot.path(home.rstrip("/") + "/.ssh")
            with os_errors_as("create %s/.ssh in the image" % home.rstrip("/"), ssh_dir):
                os.makedirs(ssh_dir, exist_ok=True)
                os.chown(ssh_dir, uid, gid)
                os.chmod(ssh_dir, 0o700)
            write_image_file(ctx.chroot, home.rstrip("/") + "/.ssh/authorized_keys",
                             "\n".join(user.ssh_public_keys) + "\n", 0o600, uid, gid)


def _mkdirs(chroot: Chroot, image_dir: str, mode: int) -> List[str]:
    """Create ``image_dir`` and missing parents inside the image with ``mode``; return created paths."""
    created: List[str] = []
    parts = [p for p in image_dir.split("/") if p]
    for depth in range(1, len(parts) + 1):
        sub = "/" + "/".join(parts[:depth])
        host = chroot.path(sub)
        if not os.path.isdir(host):
            if os.path.lexists(host):
                raise StepError("cannot create directory %s in the image: a file is in the way." % sub)
            try:
                os.mkdir(host)
            except OSError as err:
                raise StepError("cannot create directory %s in the image: %s." % (sub, err.strerror)) from err
            os.chmod(host, mode)
            created.append(sub)
    return created


def copy_additional_dirs(ctx: StepContext) -> None:
    """Each host tree into the image as the reference copies it: new directories ``newDirPermissions`` (0755),
    existing ones ``mergedDirPermissions`` (or kept), every file ``childFilePermissions`` (0755). A symlink in
    the tree is followed on the host: a link to a file is copied as that file; a link to a directory (or a
    dangling one) is refused, as there."""
    for index, spec in enumerate(ctx.config.os.additional_dirs):
        key = "config.os.additionalDirs[%d].source" % index
        new_mode = spec.new_dir_permissions if spec.new_dir_permissions is not None else DEFAULT_CHILD_MODE
        file_mode = spec.child_file_permissions if spec.child_file_permissions is not None else DEFAULT_CHILD_MODE
        for base, dirs, files in _walk(spec.source, key):
            rel = os.path.relpath(base, spec.source)
            image_dir = spec.destination if rel == "." else spec.destination.rstrip("/") + "/" + rel
            existed = os.path.isdir(ctx.chroot.path(image_dir))
            _mkdirs(ctx.chroot, image_dir, new_mode)
            if existed and spec.merged_dir_permissions is not None:
                os.chmod(ctx.chroot.path(image_dir), spec.merged_dir_permissions)
            for name in sorted(files) + sorted(d for d in dirs if os.path.islink(os.path.join(base, d))):
                source = os.path.join(base, name)
                image_file = image_dir.rstrip("/") + "/" + name
                if os.path.islink(source) and not os.path.isfile(source):
                    raise StepError("%s: failed to copy file (%s) to (%s): source (%s) is not a file%s."
                                    % (key, source, image_file, source,
                                       "" if os.path.exists(source) else " (a dangling symlink)"),
                                    "A symlink in an additionalDirs tree is followed; point it at a file or "
                                    "create the link in a postCustomization script.")
                target = ctx.chroot.path(image_file, follow_final=False)
                if os.path.islink(target):  # the image's own link is replaced, never written through
                    with os_errors_as("replace the symlink %s in the image" % image_file, target):
                        os.unlink(target)
                write_image_file(ctx.chroot, image_file, _read_host_file(source, key), file_mode)


def copy_additional_files(ctx: StepContext) -> None:
    for index, spec in enumerate(ctx.config.os.additional_files):
        data: Union[bytes, str]
        if spec.source:
            data = _read_host_file(spec.source, "config.os.additionalFiles[%d].source" % index)
            mode = spec.permissions if spec.permissions is not None else stat.S_IMODE(os.stat(spec.source).st_mode)
        else:
            data = spec.content or ""
            mode = spec.permissions if spec.permissions is not None else 0o644
        _mkdirs(ctx.chroot, os.path.dirname(spec.destination), 0o755)
        write_image_file(ctx.chroot, spec.destination, data, mode)


def configure_services(ctx: StepContext) -> None:
    for verb, units in (("enable", ctx.config.os.services_enable), ("disable", ctx.config.os.services_disable)):
        for unit in units:
            try:
                ctx.chroot.run(["systemctl", verb, unit], what="systemctl %s %s" % (verb, unit))
            except CommandError as err:
                raise StepError("config.os.services.%s: cannot %s %s: %s" % (verb, verb, unit, err.output_tail),
                                "Check the unit name; install its package under os.packages.") from err


def _blacklisted(text: str, name: str) -> bool:
    return any(line.split() == ["blacklist", name] for line in text.splitlines())


def merge_module_options(text: str, options: Sequence[Tuple[str, Sequence[Tuple[str, str]]]]) -> str:
    """modprobe.d text with each module's options merged into its one ``options NAME`` line (values given
    replace the same keys there, new keys are appended; a module without a line gets one at the end)."""
    wanted = dict((name, list(opts)) for name, opts in options)
    seen = set()
    lines: List[str] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "options" and fields[1] in wanted:
            name = fields[1]
            new = dict(wanted[name])
            kept = [("%s=%s" % (field.split("=", 1)[0], new[field.split("=", 1)[0]]))
                    if field.split("=", 1)[0] in new else field for field in fields[2:]]
            present = set(field.split("=", 1)[0] for field in fields[2:])
            kept += ["%s=%s" % kv for kv in wanted[name] if kv[0] not in present]
            seen.add(name)
            line = " ".join(["options", name] + kept)
        lines.append(line)
    lines += ["options %s %s" % (name, " ".join("%s=%s" % kv for kv in opts))
              for name, opts in options if name not in seen]
    return "\n".join(lines) + "\n"


def configure_modules(ctx: StepContext) -> None:
    """os.modules as the reference: always -> modules-load.d (and no blacklist line), auto -> no blacklist line,
    disable -> a blacklist line, inherit -> as the image has it; options merged into one line per module (refused
    for a module the image blacklists unless loadMode lifts it)."""
    header = "# Written by liveiso.customizer from os.modules\n"
    disabled_text = read_image_file(ctx.chroot, MODULES_DISABLED_FILE, None)
    load: List[str] = []
    blacklist: List[str] = []
    options: List[Tuple[str, Sequence[Tuple[str, str]]]] = []
    lifted: List[str] = []
    for index, module in enumerate(ctx.config.os.modules):
        if module.load_mode in ("always", "auto"):
            lifted.append(module.name)
            if module.load_mode == "always":
                load.append(module.name)
        elif module.load_mode == "disable":
            blacklist.append(module.name)
        elif module.options and disabled_text and _blacklisted(disabled_text, module.name):
            raise StepError("config.os.modules[%d]: cannot add options for disabled module (%s): the image "
                            "blacklists it in %s." % (index, module.name, MODULES_DISABLED_FILE),
                            "Specify auto or always as loadMode to override the setting in the base image.")
        if module.options:
            options.append((module.name, module.options))
    if disabled_text is not None or blacklist:
        text = disabled_text if disabled_text is not None else header
        lines = [line for line in text.splitlines() if not any(line.split() == ["blacklist", n] for n in lifted)]
        lines += ["blacklist " + name for name in blacklist if not _blacklisted(text, name)]
        new = "\n".join(lines) + "\n"
        if new != text:
            write_image_file(ctx.chroot, MODULES_DISABLED_FILE, new)
    if load:
        text = read_image_file(ctx.chroot, MODULES_LOAD_FILE) or header
        add = [name for name in load if name not in [line.strip() for line in text.splitlines()]]
        if add:
            write_image_file(ctx.chroot, MODULES_LOAD_FILE, text.rstrip("\n") + "\n" + "\n".join(add) + "\n")
    if options:
        text = read_image_file(ctx.chroot, MODULE_OPTIONS_FILE) or header
        write_image_file(ctx.chroot, MODULE_OPTIONS_FILE, merge_module_options(text, options))


def set_kernel_command_line(ctx: StepContext) -> None:
    changed = update_boot_configs(ctx.chroot, ctx.config.os.kernel_extra_args)
    ctx.notes.append("kernel command line updated in: %s" % (", ".join(changed) or "nothing (no boot config found)"))


@contextlib.contextmanager
def config_dir_mounted(chroot: Chroot, base_dir: Optional[str]) -> Iterator[None]:
    """The config directory bind-mounted read-only at /_imageconfigs for the block (the mount point removed
    after); nothing when the config has no directory (given inline without config_dir)."""
    if not base_dir:
        yield
        return
    target = chroot.path(CONFIG_DIR_IN_IMAGE)
    if os.path.lexists(target):
        raise StepError("cannot mount the config directory at %s in the image: the image has a file there."
                        % CONFIG_DIR_IN_IMAGE, "Remove %s from the image." % CONFIG_DIR_IN_IMAGE)
    with os_errors_as("create %s in the image for the scripts" % CONFIG_DIR_IN_IMAGE, target):
        os.mkdir(target, 0o755)
    try:
        with mounted(base_dir, target, bind=True, options=["ro"]):
            yield
    finally:
        with os_errors_as("remove %s from the image" % CONFIG_DIR_IN_IMAGE, target):
            os.rmdir(target)


def _run_script(ctx: StepContext, script: Script, key: str) -> None:
    """One script in the chroot, cwd /: a ``path`` script from /_imageconfigs, inline content from a temporary
    file under /tmp (removed after)."""
    temp: Optional[str] = None
    try:
        if script.config_path:
            image_file = CONFIG_DIR_IN_IMAGE + "/" + script.config_path
        else:
            name = os.path.basename(script.name).replace(" ", "_")
            image_file = temp = "%s/liveiso-script-%d-%s" % (INLINE_SCRIPT_DIR, os.getpid(), name)
            _mkdirs(ctx.chroot, INLINE_SCRIPT_DIR, 0o1777)
            write_image_file(ctx.chroot, image_file, (script.content or "").encode(), 0o700)
        argv = script.interpreter.split() + [image_file] + list(script.arguments)
        result = ctx.chroot.run(argv, env=dict(script.environment), check=False, merge_output=True)
        if result.returncode != 0:
            raise ScriptError("%s (%s) failed with exit code %d; last lines of its output: %s"
                              % (key, script.name, result.returncode, tail(result.stdout, 20) or "(none)"),
                              "Fix the script; the image was not changed.")
    finally:
        if temp is not None:
            host = ctx.chroot.path(temp, follow_final=False)
            if os.path.lexists(host):
                os.unlink(host)


def run_scripts(ctx: StepContext, scripts: Sequence[Script], key: str) -> None:
    """Run each script inside the image with cwd /, its interpreter, arguments and environment, the config
    directory at /_imageconfigs (read-only) as the reference documents."""
    with config_dir_mounted(ctx.chroot, ctx.config.base_dir):
        for index, script in enumerate(scripts):
            _run_script(ctx, script, "%s[%d]" % (key, index))


def run_post_customization_scripts(ctx: StepContext) -> None:
    run_scripts(ctx, ctx.config.scripts.post_customization, "config.scripts.postCustomization")


def run_finalize_customization_scripts(ctx: StepContext) -> None:
    run_scripts(ctx, ctx.config.scripts.finalize_customization, "config.scripts.finalizeCustomization")


def reset_boot_loader(ctx: StepContext) -> None:
    mode = ctx.config.os.selinux_mode
    args = list(ctx.config.os.kernel_extra_args) + list(mode.kernel_args if mode is not None else ())
    ctx.notes.append(hard_reset(ctx.chroot, args))


def configure_selinux(ctx: StepContext) -> None:
    mode = ctx.config.os.selinux_mode
    if mode is None:  # the step is wanted only with a mode
        return
    # after a hard reset the regenerated grub.cfg already has the SELinux arguments (as the reference)
    ctx.notes.extend(selinux.set_mode(ctx.chroot, mode.config_value, mode.enabled, mode.kernel_args,
                                      boot_args=ctx.config.os.bootloader_reset is None))


def relabel_selinux(ctx: StepContext) -> None:
    relabelled = selinux.relabel(ctx.chroot)
    ctx.notes.append("SELinux labels set by setfiles on: %s" % ", ".join(relabelled))


def configure_overlays(ctx: StepContext) -> None:
    mode = ctx.config.os.selinux_mode
    ctx.notes.extend(enable_overlays(ctx.chroot, ctx.config.os.overlays, bool(mode and mode.enabled)))


def remove_os_package_manager(ctx: StepContext) -> None:
    removed = remove_package_manager(ctx.chroot, detect(ctx.chroot))
    ctx.notes.append("package manager removed: %s" % (", ".join(removed) or "nothing was installed"))


# The reference order: packages -> hostname -> users -> additionalDirs -> additionalFiles -> services -> modules
# -> boot config (kernel arguments, hard reset) -> SELinux mode -> overlays -> postCustomization -> package manager
# removal; then (own resolv.conf back) SELinux labels -> finalize. The image history is written after the OS steps.
OS_STEPS: Tuple[Step, ...] = (
    Step("install-packages", install_packages, lambda c: c.os.packages.any),
    Step("set-hostname", set_hostname, lambda c: c.os.hostname is not None),
    Step("create-groups", create_groups, lambda c: bool(c.os.groups)),
    Step("configure-users", configure_users, lambda c: bool(c.os.users)),
    Step("copy-additional-dirs", copy_additional_dirs, lambda c: bool(c.os.additional_dirs)),
    Step("copy-additional-files", copy_additional_files, lambda c: bool(c.os.additional_files)),
    Step("configure-services", configure_services, lambda c: bool(c.os.services_enable or c.os.services_disable)),
    Step("configure-modules", configure_modules, lambda c: bool(c.os.modules)),
    Step("set-kernel-command-line", set_kernel_command_line, lambda c: bool(c.os.kernel_extra_args)),
    Step("reset-boot-loader", reset_boot_loader, lambda c: c.os.bootloader_reset is not None),
    Step("configure-selinux", configure_selinux, lambda c: c.os.selinux_mode is not None),
    Step("configure-overlays", configure_overlays, lambda c: bool(c.os.overlays)),
    Step("run-post-customization-scripts", run_post_customization_scripts,
         lambda c: bool(c.scripts.post_customization)),
    Step("remove-package-manager", remove_os_package_manager, lambda c: c.os.packages.remove_package_manager),
)
FINALIZE_STEPS: Tuple[Step, ...] = (
    Step("relabel-selinux", relabel_selinux, lambda c: bool(c.os.selinux_mode and c.os.selinux_mode.enabled)),
    Step("run-finalize-customization-scripts", run_finalize_customization_scripts,
         lambda c: bool(c.scripts.finalize_customization)),
)


def planned_steps(config: Config) -> List[str]:
    """Names of the steps that will run for ``config``, in order."""
    return [step.name for step in OS_STEPS + FINALIZE_STEPS if step.wanted(config)]


def run_steps(build: StepTimer, chroot: Chroot, config: Config, epoch: Optional[int] = None) -> List[str]:
    """Every wanted customization step, in order, timed: the OS steps with the host's DNS and services held,
    the image history (unless ``imageHistory: none``; ``epoch``: its reproducible time), then the finalize
    steps with the image's own resolv.conf back. Returns the steps' notes."""
    ctx = StepContext(chroot, config)
    with services_held(chroot), host_dns(chroot):
        for step in OS_STEPS:
            if step.wanted(config):
                with build.step(step.name):
                    step.func(ctx)
    if config.os.image_history and config.customizes_root:
        ctx.notes.append(write_history(chroot, config, epoch))
    for step in FINALIZE_STEPS:
        if step.wanted(config):
            with build.step(step.name):
                step.func(ctx)
    return ctx.notes
