# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, TypedDict

from ansible_collections.liveiso.customizer.plugins.module_utils._build.build import Build, BuildSteps
from ansible_collections.liveiso.customizer.plugins.module_utils._build.host import allocated_bytes, ensure_space
from ansible_collections.liveiso.customizer.plugins.module_utils._build.pipeline import Made, Result, run_build
from ansible_collections.liveiso.customizer.plugins.module_utils._build.stamp import Stamp
from ansible_collections.liveiso.customizer.plugins.module_utils._core import tools
from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import set_mtime
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot, chroot_environment
from ansible_collections.liveiso.customizer.plugins.module_utils._image.formats import (
    ImageInfo,
    inspect_image,
    make_raw_work_copy,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import (
    grub_cfg_args,
    image_kernel_args,
    missing_args,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.rootfs import (
    MountedImage,
    mounted_image,
    mounted_squashfs,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.steps import planned_steps, run_steps
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown, xorriso
from ansible_collections.liveiso.customizer.plugins.module_utils._live import boot_loader, media
from ansible_collections.liveiso.customizer.plugins.module_utils._live.initrd import build_initrd
from ansible_collections.liveiso.customizer.plugins.module_utils._live.media import (
    Graft,
    IsoFlavour,
    LiveIso,
    additional_file_grafts,
    media_metadata,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._live.plan import (
    BootMode,
    LivePlan,
    SecureBoot,
    image_args_for_live,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._live.request import LiveIsoRequest, validate_request
from ansible_collections.liveiso.customizer.plugins.module_utils._live.saved_config import SavedConfig
from ansible_collections.liveiso.customizer.plugins.module_utils._live.squashfs import make_squashfs, squashfs_started

TOOLS: Tuple[str, ...] = tools.needed_by("liveos_iso")

SignedChain = Dict[str, str]  # the image's signed EFI binaries: {name on the ESP: host path}


class LiveResult(TypedDict):
    """The result keys of a Live ISO build (also kept in its stamp, for the up-to-date result)."""

    volume_label: str
    kernel_cmdline: str
    boot_modes: List[str]
    secure_boot: bool
    build_path: str
    copy_method: Optional[str]  # the fast path's copy of the input: "reflink" or "copy"
    build_seconds: float


class Written(NamedTuple):
    """What a build path wrote: the temp output, how the input was copied (fast path), its sha256 if known."""

    temp_output: str
    copy_method: Optional[str] = None
    sha256: Optional[str] = None


def _kernel_image_args(chroot: Chroot, request: LiveIsoRequest, plan: LivePlan) -> None:
    """The image's own kernel arguments (its boot loader's, GRUB variables resolved, unless the plan has them)
    and the user's extra ones."""
    if not plan.image_args:
        found = image_kernel_args(chroot, plan.kernel_version)
        if found is not None:
            plan.image_args = image_args_for_live(found.args)
    plan.image_args += missing_args(plan.image_args, request.config.os.kernel_extra_args)


def _copy_esps(build: BuildSteps, image: MountedImage, request: LiveIsoRequest, plan: LivePlan) -> None:
    """The EFI directories of the image's ESPs (not mounted for a Live ISO), where a vendor's signed chain is."""
    if BootMode.UEFI in plan.boot_modes and SecureBoot(request.secure_boot).wants_chain:
        plan.esp_copies = boot_loader.copy_esps(image.raw, image.partitions, build.path("esps"))


def _signed_chain(build: BuildSteps, chroot: Chroot, request: LiveIsoRequest,
                  plan: LivePlan) -> Optional[SignedChain]:
    """Copies of the image's signed shim chain when the plan boots UEFI and the policy wants it, else None."""
    if BootMode.UEFI not in plan.boot_modes or not SecureBoot(request.secure_boot).wants_chain:
        return None
    found = boot_loader.find_signed_chain(chroot, plan.esp_copies)
    boot_loader.require_secure_boot_chain(found, request.secure_boot, boot_loader.signed_chain_places(plan.esp_copies))
    if not found:
        return None
    chain: SignedChain = {}
    for name, host_path in found.files.items():
        chain[name] = build.path("signed-" + name)
        shutil.copyfile(host_path, chain[name])
    return chain


def prepare_root(build: BuildSteps, chroot: Chroot, request: LiveIsoRequest, plan: LivePlan, notes: List[str],
                 kernel_source: Optional[str] = None, customize: bool = True) -> Optional[SignedChain]:
    """Inside the mounted root: customize (unless ``customize`` is false: done already), build the initrd,
    collect kernel and signed EFI binaries."""
    epoch = request.source_date_epoch
    if customize and request.config.customizes_root:
        notes.extend(run_steps(build, chroot, request.config, epoch=epoch))
    unread = media.unread_seed_warning(chroot.root, list(plan.files), plan.kernel_args())
    if unread:
        notes.append(unread)
    with build.step("build-initrd"):
        kernel_version: str = build_initrd(chroot, build.path("initrd.img"), source_date_epoch=epoch,
                                           version=plan.kernel_version if kernel_source else None)
        plan.kernel_version = kernel_version
    kernel = build.path("vmlinuz")
    shutil.copyfile(kernel_source or chroot.path("/boot/vmlinuz-" + kernel_version), kernel)
    _kernel_image_args(chroot, request, plan)
    chain = _signed_chain(build, chroot, request, plan)
    plan.secure_boot = bool(chain)
    for path in [kernel, build.path("initrd.img")] + list((chain or {}).values()):
        set_mtime(path, epoch)
    return chain


def write_full_iso(build: Build, request: LiveIsoRequest, plan: LivePlan, chain: Optional[Mapping[str, str]],
                   rootfs: str, extra_grafts: Sequence[Graft] = ()) -> str:
    """Boot images, then the whole ISO (kernel, initrd, ``rootfs``, media files) into a temp output."""
    epoch = request.source_date_epoch
    with build.step("make-boot-images"):
        boot_loader.check_host_grub(plan.boot_modes)
        grafts: List[Graft] = []
        if BootMode.BIOS in plan.boot_modes:
            grafts.append((BootMode.BIOS.boot_image, boot_loader.make_bios_image(build.workdir, plan.boot_id)))
        if BootMode.UEFI in plan.boot_modes:
            efi_image: str
            efi_files: Dict[str, str]
            efi_image, efi_files = boot_loader.make_efi_image(build.workdir, plan.boot_id, chain,
                                                              volume_id=plan.boot_id[:8].upper(), mtime=epoch)
            grafts.append((BootMode.UEFI.boot_image, efi_image))
            grafts += sorted(efi_files.items())
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
        xorriso.write_iso(tmp, plan.label, grafts, plan.boot_modes, BootMode.BIOS.boot_image,
                          BootMode.UEFI.boot_image, epoch)
    return tmp


def build_from_disk(build: Build, request: LiveIsoRequest, info: ImageInfo, plan: LivePlan, notes: List[str]) -> str:
    """A Live ISO from a disk image: its root mounted (under an overlay when customized), squashed, booted."""
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
            _copy_esps(build, image, request, plan)
            notes.append("mounted: %s" % image.describe())
        with chroot_environment(image.root) as chroot:  # also makes /dev, /proc, /sys, /run if missing
            if customizing:
                notes.extend(run_steps(build, chroot, request.config, epoch=request.source_date_epoch))
        # the root is final: mksquashfs packs it while dracut builds the initrd from it (both only read it)
        with squashfs_started(image.root, rootfs, plan.compression, plan.compression_level,
                              request.source_date_epoch) as squashing:
            with chroot_environment(image.root) as chroot:
                chain = prepare_root(build, chroot, request, plan, notes, customize=False)
            with build.step("make-squashfs"):
                squashed = squashing.wait(timeout=7200)
        notes.append("make-squashfs ran alongside build-initrd: %.1f s in all" % squashed.seconds)
        with build.step("unmount-image"):
            stack.close()
    set_mtime(rootfs, request.source_date_epoch)
    return write_full_iso(build, request, plan, chain, rootfs)


def _extract_from_iso(build: Build, request: LiveIsoRequest, live: LiveIso,
                      plan: LivePlan) -> Tuple[str, str, List[Graft]]:
    """The step extract-iso: the input's squashfs root, its newest kernel, and the media files it keeps
    (its saved additional files that the request does not replace); the reference layout's kernel arguments."""
    with build.step("extract-iso"):
        squash: str = xorriso.extract(live.path, media.ROOTFS, build.path("input-rootfs.img"))
        kernels = [f for f in live.files if f.startswith("/boot/vmlinuz")]
        if not kernels:
            raise ImageError("%s has no kernel under /boot." % live.path, "Rebuild it from its disk image.")
        kernel: str = xorriso.extract(live.path, sorted(kernels)[-1], build.path("input-vmlinuz"))
        if live.flavour is IsoFlavour.REFERENCE and not plan.image_args:
            text = xorriso.read_text(live.path, media.MIC_GRUB_CFG, build.workdir) or ""
            plan.image_args = image_args_for_live(grub_cfg_args(text))
        kept: List[Graft] = []
        for media_path in sorted(live.saved.additional_files if live.saved else {}):
            if media_path not in {s.destination for s in request.config.iso.additional_files}:
                host = build.path("kept-files", media_path.lstrip("/"))
                os.makedirs(os.path.dirname(host), exist_ok=True)
                kept.append((media_path, xorriso.extract(live.path, media_path, host)))
    return squash, kernel, kept


def _squashfs_kernel_version(root: str, live: LiveIso) -> str:
    """The kernel version of a mounted squashfs root: the one directory under lib/modules."""
    modules_dir = os.path.join(root, "lib/modules")
    modules = sorted(os.listdir(modules_dir)) if os.path.isdir(modules_dir) else []
    if len(modules) != 1:
        raise ImageError("cannot tell the kernel version of %s (modules for: %s)."
                         % (live.path, ", ".join(modules) or "none"), "Rebuild it from its disk image.")
    return modules[0]


def build_from_iso(build: Build, request: LiveIsoRequest, live: LiveIso, plan: LivePlan, notes: List[str]) -> str:
    """Rebuild a Live ISO whose root filesystem changes (os/scripts), or one in the reference tool's layout."""
    epoch = request.source_date_epoch
    squash, kernel, kept = _extract_from_iso(build, request, live, plan)
    rootfs = build.path("rootfs.img")
    with contextlib.ExitStack() as stack:
        with build.step("mount-image"):
            root: str = stack.enter_context(mounted_squashfs(squash, build.path("mnt")))
            if not plan.kernel_version:
                plan.kernel_version = _squashfs_kernel_version(root, live)
        with chroot_environment(root) as chroot:
            chain = prepare_root(build, chroot, request, plan, notes, kernel_source=kernel)
        with build.step("make-squashfs"):
            make_squashfs(root, rootfs, plan.compression, plan.compression_level, epoch)
        with build.step("unmount-image"):
            stack.close()
    set_mtime(rootfs, epoch)
    return write_full_iso(build, request, plan, chain, rootfs, kept)


def remaster_iso(build: Build, request: LiveIsoRequest, live: LiveIso, plan: LivePlan, notes: List[str]) -> Written:
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
        how: str
        sha256: Optional[str]
        writer: str
        how, sha256, writer = grown.grow(live.path, tmp, build.path("session.iso"), plan.label, mappings,
                                         source_date_epoch=epoch, checksum=request.checksum,
                                         writer=request.session_writer)
        notes.append("fast path: %s of the input, changes appended (boot setup and squashfs kept)"
                     % ("reflink copy" if how == "reflink" else "kernel copy"))
        notes.append("new session written %s" % ("here" if writer == "here" else "by " + writer))
    return Written(tmp, how, sha256)


def remaster_keeps(request: LiveIsoRequest, plan: LivePlan, saved: SavedConfig) -> bool:
    """Can the fast path honour ``request``? It keeps the ISO's boot setup and squashfs as they are."""
    if list(plan.boot_modes) != list(saved.boot_modes):
        return False
    if (plan.compression, plan.compression_level) != (saved.compression, saved.compression_level):
        return False
    return SecureBoot(request.secure_boot).accepts(plan.secure_boot)


def space_needed(info: ImageInfo, build: Build, output: str, customizing: bool) -> Dict[str, int]:
    """{directory: bytes} a build of ``info`` needs, estimated from the input's size on disk."""
    size = allocated_bytes(info.path)
    if info.format == "iso":
        if customizing:  # unpacked root (about 2.5x the squashfs) + new squashfs + ISO
            return {build.workdir: size * 3, os.path.dirname(output): size}
        return {os.path.dirname(output): size}  # a copy of the ISO (none with reflinks, but not known yet)
    work = (0 if info.format == "raw" else size) + size // 2  # raw work copy, squashfs
    return {build.workdir: work, os.path.dirname(output): size // 2}


class BuildPath(StrEnum):
    """How a Live ISO is made (the result's ``build_path``)."""

    FULL = "full"  #: from a disk image: mount, [customize], initrd, squashfs, boot images, xorriso
    REMASTER = "remaster"  #: the per-site fast path: the input ISO grown by one session, squashfs kept
    REBUILD_FROM_ISO = "rebuild-from-iso"  #: a Live ISO whose root changes, or in the reference's layout

    def make(self, build: Build, request: LiveIsoRequest, info: ImageInfo, live: Optional[LiveIso], plan: LivePlan,
             notes: List[str]) -> Written:
        """Run this path on the input ``info`` (``live``: the Live ISO it is, for the paths from an ISO)."""
        if self is BuildPath.FULL:
            return Written(build_from_disk(build, request, info, plan, notes))
        if live is None:
            raise ValueError("the %s build path needs a Live ISO input" % self.value)
        if self is BuildPath.REMASTER:
            return remaster_iso(build, request, live, plan, notes)
        return Written(build_from_iso(build, request, live, plan, notes))


class LiveIsoPipeline(object):
    """A Live OS ISO out, from a disk image or from a Live ISO."""

    kind: str = "liveos_iso"
    tools: Sequence[str] = TOOLS

    def inspect(self, request: LiveIsoRequest) -> ImageInfo:
        validate_request(request)
        return inspect_image(request.image)

    def options(self, request: LiveIsoRequest, info: ImageInfo) -> Dict[str, object]:
        return request.options()

    def base_result(self, request: LiveIsoRequest, info: ImageInfo) -> Result:
        return {"input_format": info.format}

    def current_result(self, stamp: Stamp) -> Result:
        live = stamp.details.get("live")
        return dict(live) if isinstance(live, dict) else {}

    def planned_steps(self, request: LiveIsoRequest, info: ImageInfo) -> List[str]:
        return planned_steps(request.config) if request.config.customizes_root else []

    def choose(self, build: Build, request: LiveIsoRequest, info: ImageInfo,
               digest: str) -> Tuple[BuildPath, Optional[LiveIso], LivePlan]:
        """The build path for this input, the Live ISO it is (None for a disk image), and the plan."""
        if info.format != "iso":
            return BuildPath.FULL, None, LivePlan(request, digest)
        live = media.open_live_iso(request.image, build.workdir)
        plan = LivePlan(request, digest, live.saved)
        if live.saved is not None and not request.config.customizes_root and remaster_keeps(request, plan,
                                                                                            live.saved):
            return BuildPath.REMASTER, live, plan
        plan.boot_id = digest[:16]
        return BuildPath.REBUILD_FROM_ISO, live, plan

    def make(self, build: Build, request: LiveIsoRequest, info: ImageInfo, digest: str) -> Made:
        ensure_space(space_needed(info, build, build.output, request.config.customizes_root))
        notes: List[str] = []
        path, live, plan = self.choose(build, request, info, digest)
        tmp, copy_method, output_sha = path.make(build, request, info, live, plan, notes)
        with build.step("checksum"):
            output_sha = build.checksum(tmp, known=output_sha, compute=request.checksum)
        live_result: LiveResult = {
            "volume_label": plan.label, "kernel_cmdline": " ".join(plan.kernel_args()),
            "boot_modes": plan.boot_modes, "secure_boot": plan.secure_boot, "build_path": path.value,
            "copy_method": copy_method, "build_seconds": round(sum(step["seconds"] for step in build.steps), 2)}
        return Made(tmp, output_sha, "built Live ISO %s from %s (%s)" % (build.output, request.image, path.value),
                    notes=notes, result=live_result, stamp={"live": live_result})


def build_live_iso(request: LiveIsoRequest) -> Result:
    """Run the Live ISO pipeline for ``request``; return the module result."""
    return run_build(LiveIsoPipeline(), request)
