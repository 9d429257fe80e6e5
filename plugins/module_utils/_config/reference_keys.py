# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every key of the reference's configuration format and what this collection does with it (private to this collection).

The one key list: the loader's "not supported yet" messages, the conformance
table of ``docs/configuration.md`` (:func:`conformance_table`; a unit test keeps
the two equal) and the tests read it. Paths are dotted, ``[]`` marks a list item.
Taken from the reference's Go types (``toolkit/tools/imagecustomizerapi/``, the
``yaml:`` tags), release v1.6.0+3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

SUPPORTED = "supported"  #: does what the reference does
DIFFERS = "differs"  #: accepted, with the difference the note says
NOT_YET = "not supported yet"  #: loads and validates as the reference does; a build that needs it says so
REFUSED = "refused"  #: refused when loading, for the reason the note gives


@dataclass(frozen=True)
class RefKey:
    path: str
    status: str
    note: str = ""


KEYS: Tuple[RefKey, ...] = (
    RefKey('input', DIFFERS, 'mapped onto the module options: a module option given as well wins'),
    RefKey('input.image', SUPPORTED, ''),
    RefKey('input.image.path', DIFFERS, "becomes the `image` option when that is not given; relative to the config file's directory"),
    RefKey('input.image.oci', REFUSED, 'needs an OCI registry: download the image and give `input.image.path` or `image`'),
    RefKey('input.image.oci.uri', REFUSED, ''),
    RefKey('input.image.oci.platform', REFUSED, ''),
    RefKey('input.image.oci.platform.os', REFUSED, ''),
    RefKey('input.image.oci.platform.architecture', REFUSED, ''),
    RefKey('input.image.azureLinux', REFUSED, 'needs a Microsoft download of an Azure Linux image: give a local image instead'),
    RefKey('input.image.azureLinux.version', REFUSED, ''),
    RefKey('input.image.azureLinux.variant', REFUSED, ''),
    RefKey('storage', NOT_YET, 'parsed and validated as the reference does; building a new disk layout is its own issue'),
    RefKey('storage.resetPartitionsUuidsType', NOT_YET, ''),
    RefKey('storage.bootType', NOT_YET, ''),
    RefKey('storage.disks', NOT_YET, ''),
    RefKey('storage.disks[].partitionTableType', NOT_YET, ''),
    RefKey('storage.disks[].maxSize', NOT_YET, ''),
    RefKey('storage.disks[].partitions', NOT_YET, ''),
    RefKey('storage.disks[].partitions[].id', NOT_YET, ''),
    RefKey('storage.disks[].partitions[].label', NOT_YET, ''),
    RefKey('storage.disks[].partitions[].start', NOT_YET, ''),
    RefKey('storage.disks[].partitions[].end', NOT_YET, ''),
    RefKey('storage.disks[].partitions[].size', NOT_YET, ''),
    RefKey('storage.disks[].partitions[].type', NOT_YET, ''),
    RefKey('storage.filesystems', NOT_YET, ''),
    RefKey('storage.filesystems[].deviceId', NOT_YET, ''),
    RefKey('storage.filesystems[].type', NOT_YET, ''),
    RefKey('storage.filesystems[].mountPoint', NOT_YET, ''),
    RefKey('storage.filesystems[].mountPoint.idType', NOT_YET, ''),
    RefKey('storage.filesystems[].mountPoint.options', NOT_YET, ''),
    RefKey('storage.filesystems[].mountPoint.path', NOT_YET, ''),
    RefKey('storage.filesystems[].btrfs', NOT_YET, 'needs the `btrfs` preview feature'),
    RefKey('storage.filesystems[].btrfs.subvolumes', NOT_YET, ''),
    RefKey('storage.filesystems[].btrfs.subvolumes[].path', NOT_YET, ''),
    RefKey('storage.filesystems[].btrfs.subvolumes[].mountPoint', NOT_YET, ''),
    RefKey('storage.filesystems[].btrfs.subvolumes[].mountPoint.idType', NOT_YET, ''),
    RefKey('storage.filesystems[].btrfs.subvolumes[].mountPoint.options', NOT_YET, ''),
    RefKey('storage.filesystems[].btrfs.subvolumes[].mountPoint.path', NOT_YET, ''),
    RefKey('storage.filesystems[].btrfs.subvolumes[].quota', NOT_YET, ''),
    RefKey('storage.filesystems[].btrfs.subvolumes[].quota.referencedLimit', NOT_YET, ''),
    RefKey('storage.filesystems[].btrfs.subvolumes[].quota.exclusiveLimit', NOT_YET, ''),
    RefKey('storage.verity', NOT_YET, ''),
    RefKey('storage.verity[].id', NOT_YET, ''),
    RefKey('storage.verity[].name', NOT_YET, ''),
    RefKey('storage.verity[].dataDeviceId', NOT_YET, ''),
    RefKey('storage.verity[].dataDevice', NOT_YET, ''),
    RefKey('storage.verity[].dataDevice.idType', NOT_YET, ''),
    RefKey('storage.verity[].dataDevice.id', NOT_YET, ''),
    RefKey('storage.verity[].dataDeviceMountIdType', NOT_YET, ''),
    RefKey('storage.verity[].hashDeviceId', NOT_YET, ''),
    RefKey('storage.verity[].hashDevice', NOT_YET, ''),
    RefKey('storage.verity[].hashDevice.idType', NOT_YET, ''),
    RefKey('storage.verity[].hashDevice.id', NOT_YET, ''),
    RefKey('storage.verity[].hashDeviceMountIdType', NOT_YET, ''),
    RefKey('storage.verity[].corruptionOption', NOT_YET, ''),
    RefKey('storage.verity[].hashSignaturePath', NOT_YET, 'needs the `output-artifacts` preview feature'),
    RefKey('storage.reinitializeVerity', NOT_YET, 'needs the `reinitialize-verity` preview feature'),
    RefKey('iso', SUPPORTED, ''),
    RefKey('iso.kernelCommandLine', SUPPORTED, ''),
    RefKey('iso.kernelCommandLine.extraCommandLine', SUPPORTED, ''),
    RefKey('iso.additionalFiles', SUPPORTED, ''),
    RefKey('iso.additionalFiles[].destination', SUPPORTED, ''),
    RefKey('iso.additionalFiles[].source', SUPPORTED, ''),
    RefKey('iso.additionalFiles[].content', SUPPORTED, ''),
    RefKey('iso.additionalFiles[].permissions', SUPPORTED, ''),
    RefKey('iso.initramfsType', DIFFERS, '`bootstrap` is built; `full-os` loads and validates, a build says not supported yet'),
    RefKey('iso.kdumpBootFiles', NOT_YET, 'needs the `kdump-boot-files` preview feature; `none` is the no-op default, `keep` not built yet'),
    RefKey('pxe', DIFFERS, 'parsed into `Config.pxe` (`PxeConfig`); built with `output_format: pxe-dir`/`pxe-tar`'),
    RefKey('pxe.kernelCommandLine', SUPPORTED, ''),
    RefKey('pxe.kernelCommandLine.extraCommandLine', SUPPORTED, ''),
    RefKey('pxe.additionalFiles', SUPPORTED, ''),
    RefKey('pxe.additionalFiles[].destination', SUPPORTED, ''),
    RefKey('pxe.additionalFiles[].source', SUPPORTED, ''),
    RefKey('pxe.additionalFiles[].content', SUPPORTED, ''),
    RefKey('pxe.additionalFiles[].permissions', SUPPORTED, ''),
    RefKey('pxe.initramfsType', SUPPORTED, ''),
    RefKey('pxe.bootstrapBaseUrl', SUPPORTED, ''),
    RefKey('pxe.bootstrapFileUrl', SUPPORTED, ''),
    RefKey('pxe.kdumpBootFiles', SUPPORTED, ''),
    RefKey('os', SUPPORTED, ''),
    RefKey('os.hostname', SUPPORTED, ''),
    RefKey('os.packages', SUPPORTED, ''),
    RefKey('os.packages.updateExistingPackages', SUPPORTED, ''),
    RefKey('os.packages.install', SUPPORTED, ''),
    RefKey('os.packages.remove', SUPPORTED, ''),
    RefKey('os.packages.update', SUPPORTED, ''),
    RefKey('os.packages.snapshotTime', DIFFERS, 'needs the `package-snapshot-time` preview feature; apt >= 2.7 (`APT::Snapshot`) and tdnf; '
           'apt of Debian 12, dnf and zypper fail clearly; the last file of a `baseConfigs` chain wins'),
    RefKey('os.packages.removePackageManager', SUPPORTED, 'needs the `remove-package-manager` preview feature'),
    RefKey('os.packages.installLists', SUPPORTED, ''),
    RefKey('os.packages.removeLists', SUPPORTED, ''),
    RefKey('os.packages.updateLists', SUPPORTED, ''),
    RefKey('os.selinux', DIFFERS, 'config file, kernel arguments and a relabel of the tree; '
           'on a Live ISO the labels do not reach the squashfs yet (see "What the os keys do")'),
    RefKey('os.selinux.mode', SUPPORTED, ''),
    RefKey('os.kernelCommandLine', SUPPORTED, ''),
    RefKey('os.kernelCommandLine.extraCommandLine', SUPPORTED, ''),
    RefKey('os.additionalFiles', SUPPORTED, ''),
    RefKey('os.additionalFiles[].destination', SUPPORTED, ''),
    RefKey('os.additionalFiles[].source', SUPPORTED, ''),
    RefKey('os.additionalFiles[].content', SUPPORTED, ''),
    RefKey('os.additionalFiles[].permissions', SUPPORTED, ''),
    RefKey('os.additionalDirs', SUPPORTED, ''),
    RefKey('os.additionalDirs[].source', SUPPORTED, ''),
    RefKey('os.additionalDirs[].destination', SUPPORTED, ''),
    RefKey('os.additionalDirs[].newDirPermissions', SUPPORTED, ''),
    RefKey('os.additionalDirs[].mergedDirPermissions', SUPPORTED, ''),
    RefKey('os.additionalDirs[].childFilePermissions', SUPPORTED, ''),
    RefKey('os.groups', SUPPORTED, ''),
    RefKey('os.groups[].name', SUPPORTED, ''),
    RefKey('os.groups[].gid', SUPPORTED, ''),
    RefKey('os.users', SUPPORTED, ''),
    RefKey('os.users[].name', SUPPORTED, ''),
    RefKey('os.users[].uid', SUPPORTED, ''),
    RefKey('os.users[].password', SUPPORTED, ''),
    RefKey('os.users[].password.type', SUPPORTED, ''),
    RefKey('os.users[].password.value', SUPPORTED, ''),
    RefKey('os.users[].passwordExpiresDays', SUPPORTED, ''),
    RefKey('os.users[].sshPublicKeyPaths', SUPPORTED, ''),
    RefKey('os.users[].sshPublicKeys', SUPPORTED, ''),
    RefKey('os.users[].primaryGroup', SUPPORTED, ''),
    RefKey('os.users[].secondaryGroups', SUPPORTED, ''),
    RefKey('os.users[].startupCommand', SUPPORTED, ''),
    RefKey('os.users[].homeDirectory', SUPPORTED, ''),
    RefKey('os.services', SUPPORTED, ''),
    RefKey('os.services.enable', SUPPORTED, ''),
    RefKey('os.services.disable', SUPPORTED, ''),
    RefKey('os.modules', SUPPORTED, ''),
    RefKey('os.modules[].name', SUPPORTED, ''),
    RefKey('os.modules[].loadMode', SUPPORTED, ''),
    RefKey('os.modules[].options', SUPPORTED, ''),
    RefKey('os.overlays', SUPPORTED, ''),
    RefKey('os.overlays[].lowerDirs', SUPPORTED, ''),
    RefKey('os.overlays[].upperDir', SUPPORTED, ''),
    RefKey('os.overlays[].workDir', SUPPORTED, ''),
    RefKey('os.overlays[].mountPoint', SUPPORTED, ''),
    RefKey('os.overlays[].isInitrdOverlay', SUPPORTED, ''),
    RefKey('os.overlays[].mountDependencies', SUPPORTED, ''),
    RefKey('os.overlays[].mountOptions', SUPPORTED, ''),
    RefKey('os.bootloader', SUPPORTED, ''),
    RefKey('os.bootloader.resetType', SUPPORTED, '`hard-reset`: the boot loader configuration regenerated in the chroot with the image\'s own tools'),
    RefKey('os.uki', NOT_YET, 'needs the `uki` preview feature; loads and validates, a build says not supported yet'),
    RefKey('os.uki.mode', NOT_YET, ''),
    RefKey('os.imageHistory', SUPPORTED, ''),
    RefKey('scripts', SUPPORTED, ''),
    RefKey('scripts.postCustomization', SUPPORTED, ''),
    RefKey('scripts.postCustomization[].path', SUPPORTED, ''),
    RefKey('scripts.postCustomization[].content', SUPPORTED, ''),
    RefKey('scripts.postCustomization[].interpreter', SUPPORTED, ''),
    RefKey('scripts.postCustomization[].arguments', SUPPORTED, ''),
    RefKey('scripts.postCustomization[].environmentVariables', SUPPORTED, ''),
    RefKey('scripts.postCustomization[].name', SUPPORTED, ''),
    RefKey('scripts.finalizeCustomization', SUPPORTED, ''),
    RefKey('scripts.finalizeCustomization[].path', SUPPORTED, ''),
    RefKey('scripts.finalizeCustomization[].content', SUPPORTED, ''),
    RefKey('scripts.finalizeCustomization[].interpreter', SUPPORTED, ''),
    RefKey('scripts.finalizeCustomization[].arguments', SUPPORTED, ''),
    RefKey('scripts.finalizeCustomization[].environmentVariables', SUPPORTED, ''),
    RefKey('scripts.finalizeCustomization[].name', SUPPORTED, ''),
    RefKey('previewFeatures', SUPPORTED, "validated against the reference's list; gated keys are refused without their feature"),
    RefKey('output', DIFFERS, 'mapped onto the module options: a module option given as well wins'),
    RefKey('output.image', SUPPORTED, ''),
    RefKey('output.image.path', DIFFERS, "becomes the `output` option when that is not given; relative to the config file's directory"),
    RefKey('output.image.format', DIFFERS, 'becomes `output_format` when that is not given; `cosi` and `baremetal-image` load, a build says not supported yet'),
    RefKey('output.image.cosi', NOT_YET, 'loads and validates; COSI output is not built yet'),
    RefKey('output.image.cosi.compression', NOT_YET, ''),
    RefKey('output.image.cosi.compression.level', NOT_YET, ''),
    RefKey('output.artifacts', NOT_YET, 'needs the `output-artifacts` preview feature; parsed and validated, copying the artifacts out is not built yet'),
    RefKey('output.artifacts.items', NOT_YET, ''),
    RefKey('output.artifacts.path', NOT_YET, ''),
    RefKey('output.selinuxPolicyPath', NOT_YET, 'needs the `output-selinux-policy` preview feature; not built yet'),
    RefKey('baseConfigs', SUPPORTED, 'needs the `base-configs` preview feature; merged as `baseConfig.md` says, loops refused'),
    RefKey('baseConfigs[].path', SUPPORTED, ''),
)

BY_PATH: Dict[str, RefKey] = {key.path: key for key in KEYS}
_INDEX_RE = re.compile(r'\[(?:\d+|"[^"]*")\]')


def normalize(path: str) -> str:
    """``config.os.users[2].name`` -> ``os.users[].name``."""
    path = _INDEX_RE.sub("[]", path)
    return path[len("config."):] if path.startswith("config.") else ("" if path == "config" else path)


def lookup(path: str) -> Optional[RefKey]:
    """The reference key at a config path (full, with indices), if it is one."""
    return BY_PATH.get(normalize(path))


def conformance_table() -> str:
    """The Markdown table of docs/configuration.md's conformance section."""
    lines: List[str] = ["| Key | Status | Notes |", "| --- | --- | --- |"]
    for key in KEYS:
        lines.append("| `%s` | %s | %s |" % (key.path, key.status, key.note.replace("|", "\\|")))
    return "\n".join(lines) + "\n"
