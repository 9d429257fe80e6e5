# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Live OS ISO pipeline (private to this collection).

Disk image in:  input (raw used in place, read-only; other formats converted)
  -> mount read-only (under overlays when os/scripts customize it)
  -> [customization steps] -> live initrd (dracut dmsquash-live, in the chroot)
  -> squashfs root -> GRUB (BIOS El Torito + UEFI FAT, or the image's signed shim chain)
  -> xorriso hybrid ISO -> atomic publish -> stamp.
Live ISO in, only ``iso`` changes: the fast path. The ISO is grown by one
session (new grub.cfg, saved config and media files; boot images and the
squashfs bytes kept), written here (:mod:`iso_session`) or, for ISOs of
other shapes, by xorriso, onto a reflink or in-kernel copy of the input.
Live ISO in, with ``os``/``scripts`` changes: its squashfs root is mounted
under an overlay, customized, and everything after that is rebuilt.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._build.build import Build
from ansible_collections.liveiso.customizer.plugins.module_utils._build.host import (
    allocated_bytes,
    check_output_path,
    ensure_space,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._build.lock import output_lock
from ansible_collections.liveiso.customizer.plugins.module_utils._build.stamp import (
    build_digest,
    input_checksum,
    output_is_current,
    read_stamp,
    stamp_checksum,
    write_stamp,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import Config
from ansible_collections.liveiso.customizer.plugins.module_utils._core import tools
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError, ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import set_mtime
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.version import COLLECTION_VERSION
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import chroot_environment
from ansible_collections.liveiso.customizer.plugins.module_utils._image.formats import inspect_image, make_raw_work_copy
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import (
    grub_cfg_args,
    missing_args,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.rootfs import mounted_image, mounted_squashfs
from ansible_collections.liveiso.customizer.plugins.module_utils._image.steps import planned_steps, run_steps
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown, xorriso
from ansible_collections.liveiso.customizer.plugins.module_utils._live import boot_loader, media
from ansible_collections.liveiso.customizer.plugins.module_utils._live.initrd import build_initrd
from ansible_collections.liveiso.customizer.plugins.module_utils._live.media import (
    additional_file_grafts,
    media_metadata,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._live.plan import (
    BOOT_MODES,
    SECURE_BOOT,
    LivePlan,
    image_args_for_live,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._live.squashfs import (
    COMPRESSORS,
    LEVELS,
    make_squashfs,
)

TOOLS = tools.needed_by("liveos_iso")






@dataclass(frozen=True)
class LiveIsoRequest:
    image: str
    output: str
    config: Config
    volume_label: Optional[str] = None
    compression: Optional[str] = None        # None: zstd, or the input Live ISO's
    compression_level: Optional[int] = None
    boot_modes: Optional[Tuple[str, ...]] = None  # None: bios + uefi, or the input Live ISO's
    secure_boot: str = "auto"
    source_date_epoch: Optional[int] = None
    build_dir: Optional[str] = None
    force: bool = False
    check_mode: bool = False
    checksum: bool = True  # not in options(): it does not change the output

    def options(self):
        return {"volume_label": self.volume_label, "compression": self.compression,
                "compression_level": self.compression_level,
                "boot_modes": list(self.boot_modes) if self.boot_modes else None,
                "secure_boot": self.secure_boot, "source_date_epoch": self.source_date_epoch}


def validate_request(request):
    if request.volume_label is not None and not media.LABEL_RE.match(request.volume_label):
        raise ConfigError("volume_label", "%r is not a valid volume label" % request.volume_label,
                          "Use 1 to 32 characters of A-Z, a-z, 0-9, _ and -.")
    compression = request.compression or "zstd"
    if compression not in COMPRESSORS:
        raise ConfigError("compression", "%r is not one of %s" % (compression, ", ".join(COMPRESSORS)))
    bounds = LEVELS[compression]
    if request.compression_level is not None:
        if bounds is None:
            raise ConfigError("compression_level", "%s takes no compression level" % compression)
        if not bounds[0] <= request.compression_level <= bounds[1]:
            raise ConfigError("compression_level", "%d is out of range %d..%d for %s"
                              % (request.compression_level, bounds[0], bounds[1], compression))
    if request.boot_modes is not None and (not request.boot_modes
                                           or any(m not in BOOT_MODES for m in request.boot_modes)):
        raise ConfigError("boot_modes", "must be a non-empty list of bios and uefi")
    if request.secure_boot not in SECURE_BOOT:
        raise ConfigError("secure_boot", "%r is not one of %s" % (request.secure_boot, ", ".join(SECURE_BOOT)))
    if request.secure_boot == "required" and "uefi" not in (request.boot_modes or BOOT_MODES):
        raise ConfigError("secure_boot", "required needs uefi in boot_modes")
    if request.config.iso.initramfs_type == "full-os":
        raise ConfigError("config.iso.initramfsType", "full-os is not supported by liveiso.customizer",
                          "Use bootstrap (the default): a small dracut initrd that mounts the squashfs root.")
    if not request.output.endswith(".iso"):
        raise ConfigError("output", "must end in .iso")
    if request.source_date_epoch is not None and request.source_date_epoch < 0:
        raise ConfigError("source_date_epoch", "must be a non-negative number of seconds")












def prepare_root(build, chroot, request, plan, notes, kernel_source=None):
    """Inside the mounted root: customize, build the initrd, collect kernel and signed EFI binaries."""
    epoch = request.source_date_epoch
    customizing = request.config.customizes_root
    if customizing:
        notes.extend(run_steps(build, chroot, request.config))
    with build.step("build-initrd"):
        plan.kernel_version = build_initrd(chroot, build.path("initrd.img"), source_date_epoch=epoch,
                                           version=plan.kernel_version if kernel_source else None)
    kernel = build.path("vmlinuz")
    shutil.copyfile(kernel_source or chroot.path("/boot/vmlinuz-" + plan.kernel_version), kernel)
    if not plan.image_args:
        for cfg in ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"):
            if os.path.isfile(chroot.path(cfg)):
                with open(chroot.path(cfg)) as handle:
                    plan.image_args = image_args_for_live(grub_cfg_args(handle.read()))
                break
    plan.image_args += missing_args(plan.image_args, request.config.os.kernel_extra_args)
    chain = None
    if "uefi" in plan.boot_modes and request.secure_boot != "off":
        found = boot_loader.find_signed_chain(chroot)
        boot_loader.require_secure_boot_chain(found, request.secure_boot)
        if found:
            chain = {}
            for name, image_path in found.items():
                chain[name] = build.path("signed-" + name)
                shutil.copyfile(chroot.path(image_path), chain[name])
    plan.secure_boot = bool(chain)
    for path in [kernel, build.path("initrd.img")] + list((chain or {}).values()):
        set_mtime(path, epoch)
    return chain


def write_full_iso(build, request, plan, chain, rootfs, extra_grafts=()):
    epoch = request.source_date_epoch
    with build.step("make-boot-images"):
        boot_loader.check_host_grub(plan.boot_modes)
        grafts = []
        if "bios" in plan.boot_modes:
            grafts.append(("/boot/grub/bios.img", boot_loader.make_bios_image(build.workdir, plan.boot_id)))
        if "uefi" in plan.boot_modes:
            efi_image, efi_files = boot_loader.make_efi_image(build.workdir, plan.boot_id, chain,
                                                              volume_id=plan.boot_id[:8].upper(), mtime=epoch)
            grafts.append(("/boot/grub/efiboot.img", efi_image))
            grafts += [("/EFI/BOOT/" + name, path) for name, path in sorted(efi_files.items())]
        for _media, path in grafts:
            set_mtime(path, epoch)
    grafts += [("/boot/vmlinuz", build.path("vmlinuz")), ("/boot/initrd.img", build.path("initrd.img")),
               (media.ROOTFS, rootfs)]
    grafts += media_metadata(build, plan, epoch)
    grafts += list(extra_grafts)
    grafts += additional_file_grafts(build, request.config.iso.additional_files, epoch)
    with build.step("write-iso"):
        tmp = build.temp_output()
        os.unlink(tmp)
        xorriso.write_iso(tmp, plan.label, grafts, plan.boot_modes, "/boot/grub/bios.img",
                            "/boot/grub/efiboot.img", epoch)
    return tmp


def build_from_disk(build, request, info, plan, notes):
    customizing = request.config.customizes_root
    raw = info.path
    if info.format != "raw":
        raw = build.path("input.raw")
        with build.step("copy-input"):
            make_raw_work_copy(info, raw)
    rootfs = build.path("rootfs.img")
    with contextlib.ExitStack() as stack:
        with build.step("mount-image"):
            image = stack.enter_context(mounted_image(raw, build.path("mnt"), mode="overlay" if customizing else "ro",
                                                      skip_fstypes=("vfat",), name=info.path))
            notes.append("mounted: %s" % image.describe())
        with chroot_environment(image.root) as chroot:
            chain = prepare_root(build, chroot, request, plan, notes)
        with build.step("make-squashfs"):
            make_squashfs(image.root, rootfs, plan.compression, plan.compression_level,
                          request.source_date_epoch)
        with build.step("unmount-image"):
            stack.close()
    set_mtime(rootfs, request.source_date_epoch)
    return write_full_iso(build, request, plan, chain, rootfs)


def build_from_iso(build, request, live, plan, notes):
    """Rebuild a Live ISO whose root filesystem changes (os/scripts), or one in the reference tool's layout."""
    epoch = request.source_date_epoch
    with build.step("extract-iso"):
        squash = xorriso.extract(live.path, media.ROOTFS, build.path("input-rootfs.img"))
        kernels = [f for f in live.files if f.startswith("/boot/vmlinuz")]
        if not kernels:
            raise ImageError("%s has no kernel under /boot." % live.path, "Rebuild it from its disk image.")
        kernel = xorriso.extract(live.path, sorted(kernels)[-1], build.path("input-vmlinuz"))
        if live.flavour == "mic" and not plan.image_args:
            text = xorriso.read_text(live.path, media.MIC_GRUB_CFG, build.workdir) or ""
            plan.image_args = image_args_for_live(grub_cfg_args(text))
        kept = []
        for media_path in sorted(live.saved.get("additional_files", {})):
            if media_path not in {s.destination for s in request.config.iso.additional_files}:
                host = build.path("kept-files", media_path.lstrip("/"))
                os.makedirs(os.path.dirname(host), exist_ok=True)
                kept.append((media_path, xorriso.extract(live.path, media_path, host)))
    rootfs = build.path("rootfs.img")
    with contextlib.ExitStack() as stack:
        with build.step("mount-image"):
            root = stack.enter_context(mounted_squashfs(squash, build.path("mnt")))
            if not plan.kernel_version:
                modules_dir = os.path.join(root, "lib/modules")
                modules = sorted(os.listdir(modules_dir)) if os.path.isdir(modules_dir) else []
                if len(modules) != 1:
                    raise ImageError("cannot tell the kernel version of %s (modules for: %s)."
                                     % (live.path, ", ".join(modules) or "none"), "Rebuild it from its disk image.")
                plan.kernel_version = modules[0]
        with chroot_environment(root) as chroot:
            chain = prepare_root(build, chroot, request, plan, notes, kernel_source=kernel)
        with build.step("make-squashfs"):
            make_squashfs(root, rootfs, plan.compression, plan.compression_level, epoch)
        with build.step("unmount-image"):
            stack.close()
    set_mtime(rootfs, epoch)
    return write_full_iso(build, request, plan, chain, rootfs, kept)


def remaster_iso(build, request, live, plan, notes):
    """The per-site fast path: new grub.cfg, saved config and media files; boot images and squashfs kept.

    The output is the input grown by one session (:mod:`grown_iso`): the input copied as cheaply as the
    filesystem allows (a reflink on xfs/btrfs, an in-kernel copy elsewhere), the new session (written here,
    or by xorriso for ISOs of other shapes) appended and the input's System Area kept verbatim, so BIOS and
    UEFI boot from CD and USB stick as before. Nothing of the squashfs is read or rewritten. Returns (temp
    output, copy method, its sha256).
    """
    epoch = request.source_date_epoch
    mappings = [(host, media) for media, host in media_metadata(build, plan, epoch)]
    mappings += [(host, media) for media, host in additional_file_grafts(build, request.config.iso.additional_files,
                                                                         epoch)]
    with build.step("remaster-iso"):
        tmp = build.temp_output()
        how, sha256, writer = grown.grow(live.path, tmp, build.path("session.iso"), plan.label, mappings,
                                             source_date_epoch=epoch, checksum=request.checksum)
        notes.append("fast path: %s of the input, changes appended (boot setup and squashfs kept)"
                     % ("reflink copy" if how == "reflink" else "kernel copy"))
        notes.append("new session written %s" % ("here" if writer == "here" else "by " + writer))
    return tmp, how, sha256


def remaster_keeps(request, plan, saved):
    """Can the fast path honour ``request``? It keeps the ISO's boot setup and squashfs as they are."""
    if list(plan.boot_modes) != list(saved.get("boot_modes") or []):
        return False
    if (plan.compression, plan.compression_level) != (saved.get("compression"), saved.get("compression_level")):
        return False
    if request.secure_boot == "off" and plan.secure_boot or request.secure_boot == "required" and not plan.secure_boot:
        return False
    return True


def build_live_iso(request):
    """Run the pipeline for ``request``; return the module result."""
    validate_request(request)
    output = os.path.abspath(request.output)
    info = inspect_image(request.image)
    if os.path.abspath(request.image) == output:
        raise ConfigError("output", "must differ from image: the input image is never modified")
    check_output_path(output)
    with output_lock(output, request.check_mode) as waited:
        result = _build_locked(request, output, info)
    if waited:
        result.setdefault("notes", []).append("waited %.1f s for another build of the same output" % waited)
    return result


def space_needed(info, build, output, customizing):
    """{directory: bytes} a build of ``info`` needs, estimated from the input's size on disk."""
    size = allocated_bytes(info.path)
    if info.format == "iso":
        if customizing:  # unpacked root (about 2.5x the squashfs) + new squashfs + ISO
            return {build.workdir: size * 3, os.path.dirname(output): size}
        return {os.path.dirname(output): size}  # a copy of the ISO (none with reflinks, but not known yet)
    work = (0 if info.format == "raw" else size) + size // 2  # raw work copy, squashfs
    return {build.workdir: work, os.path.dirname(output): size // 2}


def _build_locked(request, output, info):
    stamp = read_stamp(output)
    input_sha, input_identity = input_checksum(request.image, stamp)
    digest = build_digest("liveos_iso", input_sha, request.config, request.options(), COLLECTION_VERSION)
    customizing = request.config.customizes_root
    result = {"output": output, "input_format": info.format, "digest": digest}
    if not request.force and output_is_current(output, stamp, digest):
        result.update(changed=False, sha256=stamp_checksum(output, stamp, request.checksum),
                      size=stamp["output"]["size"], steps=[],
                      msg="%s is up to date (inputs unchanged)" % output, **stamp.get("live", {}))
        return result
    if request.check_mode:
        steps = planned_steps(request.config) if customizing else []
        result.update(changed=True, steps=[{"name": n, "seconds": 0} for n in steps],
                      msg="%s would be built" % output)
        return result
    notes = []
    copy_method = output_sha = None
    with Build(output, request.build_dir, TOOLS) as build:
        ensure_space(space_needed(info, build, output, customizing))
        notes.extend(build.recovered)
        if info.format == "iso":
            live = media.open_live_iso(request.image, build.workdir)
            plan = LivePlan(request, digest, live.saved if live.flavour == "liveiso" else None)
            if live.flavour == "liveiso" and not customizing and remaster_keeps(request, plan, live.saved):
                path = "remaster"
                tmp, copy_method, output_sha = remaster_iso(build, request, live, plan, notes)
            else:
                path = "rebuild-from-iso"
                plan.boot_id = digest[:16]
                tmp = build_from_iso(build, request, live, plan, notes)
        else:
            plan = LivePlan(request, digest)
            path = "full"
            tmp = build_from_disk(build, request, info, plan, notes)
        with build.step("checksum"):
            output_sha = build.checksum(tmp, known=output_sha, compute=request.checksum)
        live_result = {"volume_label": plan.label, "kernel_cmdline": " ".join(plan.kernel_args()),
                       "boot_modes": plan.boot_modes, "secure_boot": plan.secure_boot, "build_path": path,
                       "copy_method": copy_method,
                       "build_seconds": round(sum(step["seconds"] for step in build.steps), 2)}
        build.commit(tmp, lambda: write_stamp(output, digest, input_sha, input_identity, output_sha,
                                              {"kind": "liveos_iso", "version": COLLECTION_VERSION,
                                               "live": live_result}))
        result.update(changed=True, sha256=output_sha, size=os.path.getsize(output), steps=build.steps, notes=notes,
                      msg="built Live ISO %s from %s (%s)" % (output, request.image, path), **live_result)
        if request.build_dir:
            result["log"] = build.log_path
        LOG.info("built %s", output)
    return result
