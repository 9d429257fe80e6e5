# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image_customize pipeline (private to this collection).

config -> input image -> raw work copy -> mounts + chroot -> ordered
customization steps -> unmount -> export (atomic) -> stamp. Callers give a
:class:`CustomizeRequest` and get a result dict; errors are CustomizerError.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Optional

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
from ansible_collections.liveiso.customizer.plugins.module_utils._core.version import COLLECTION_VERSION
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import chroot_environment
from ansible_collections.liveiso.customizer.plugins.module_utils._image.formats import (
    OUTPUT_FORMATS,
    export_image,
    format_from_extension,
    inspect_image,
    make_raw_work_copy,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.rootfs import mounted_image
from ansible_collections.liveiso.customizer.plugins.module_utils._image.steps import planned_steps, run_steps
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import xorriso
from ansible_collections.liveiso.customizer.plugins.module_utils._live import media

TOOLS = tools.needed_by("image_customize")


@dataclass(frozen=True)
class CustomizeRequest:
    image: str
    output: str
    config: Config
    output_format: Optional[str] = None
    build_dir: Optional[str] = None
    force: bool = False
    check_mode: bool = False
    checksum: bool = True


def resolve_output_format(output, output_format):
    fmt = output_format or format_from_extension(output)
    if fmt is None:
        raise ConfigError("output_format", "cannot be derived from the output name %s" % os.path.basename(output),
                          "Set output_format to one of: %s." % ", ".join(sorted(OUTPUT_FORMATS)))
    if fmt == "iso":
        return fmt
    if fmt not in OUTPUT_FORMATS:
        raise ConfigError("output_format", "%r is not one of %s" % (fmt, ", ".join(sorted(OUTPUT_FORMATS))))
    return fmt




def run_customization(build, raw, config, name=None):
    """Mount ``raw``, run every wanted step in order inside its chroot, unmount. Returns step notes."""
    with contextlib.ExitStack() as stack:
        with build.step("mount-image"):
            image = stack.enter_context(mounted_image(raw, build.path("mnt"), name=name))
            chroot = stack.enter_context(chroot_environment(image.root))
        notes = ["mounted: %s" % image.describe()] + run_steps(build, chroot, config)
        with build.step("unmount-image"):
            stack.close()
    return notes


def customize_image(request):
    """Run the pipeline for ``request``; return the module result (changed, output, sha256, steps, ...)."""
    output = os.path.abspath(request.output)
    info = inspect_image(request.image)
    fmt = resolve_output_format(output, request.output_format)
    if fmt == "iso":
        raise ConfigError("output_format", "iso output goes through liveos.build_live_iso")
    if info.format == "iso" and media.ROOTFS not in xorriso.list_files(request.image):
        raise ImageError("%s is an ISO image but not a Live OS ISO: it has no %s." % (request.image, media.ROOTFS),
                         "Give a disk image (raw, qcow2, vhd, vhdx).")
    if info.format == "iso":
        raise ImageError("%s is a Live ISO; its customized form can only be an ISO." % request.image,
                         "Set output_format: iso (or an output ending in .iso).")
    if request.config.iso.present:
        raise ConfigError("config.iso", "applies only to ISO output", "Remove it, or build with liveos_iso.")
    if os.path.abspath(request.image) == output:
        raise ConfigError("output", "must differ from image: the input image is never modified")
    check_output_path(output)
    with output_lock(output, request.check_mode) as waited:
        result = _customize_locked(request, output, info, fmt)
    if waited:
        result.setdefault("notes", []).append("waited %.1f s for another build of the same output" % waited)
    return result


def _customize_locked(request, output, info, fmt):
    stamp = read_stamp(output)
    input_sha, input_identity = input_checksum(request.image, stamp)
    digest = build_digest("image_customize", input_sha, request.config, {"output_format": fmt}, COLLECTION_VERSION)
    result = {"output": output, "output_format": fmt, "input_format": info.format, "digest": digest}
    if not request.force and output_is_current(output, stamp, digest):
        result.update(changed=False, sha256=stamp_checksum(output, stamp, request.checksum),
                      size=stamp["output"]["size"], steps=[],
                      msg="%s is up to date (inputs unchanged)" % output)
        return result
    if request.check_mode:
        result.update(changed=True, steps=[{"name": n, "seconds": 0} for n in planned_steps(request.config)],
                      msg="%s would be built" % output)
        return result
    with Build(output, request.build_dir, TOOLS) as build:
        # the raw work copy in the build dir, the output (about as large) beside it
        estimate = allocated_bytes(request.image) if info.format == "raw" else max(
            allocated_bytes(request.image), info.virtual_size // 4)
        ensure_space({build.workdir: estimate, os.path.dirname(output): estimate})
        raw = build.path("work.raw")
        with build.step("copy-input"):
            make_raw_work_copy(info, raw)
        notes = run_customization(build, raw, request.config, name=request.image)
        with build.step("export-image"):
            tmp = build.temp_output()
            if fmt == "raw" and os.stat(raw).st_dev == os.stat(tmp).st_dev:
                os.replace(raw, tmp)
            else:
                export_image(raw, fmt, tmp)
            output_sha = build.checksum(tmp, compute=request.checksum)
        build.commit(tmp, lambda: write_stamp(
            output, digest, input_sha, input_identity, output_sha,
            {"kind": "image_customize", "output_format": fmt, "version": COLLECTION_VERSION}))
        result.update(changed=True, sha256=output_sha, size=os.path.getsize(output), steps=build.steps,
                      notes=build.recovered + notes, msg="built %s (%s) from %s" % (output, fmt, request.image))
        if request.build_dir:
            result["log"] = build.log_path
    return result
