# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The image_customize pipeline (private to this collection).

config -> input image -> raw work copy -> mounts + chroot -> ordered
customization steps -> unmount -> export (atomic) -> stamp. Callers give a
:class:`CustomizeRequest` and get a result dict; errors are CustomizerError.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._build.build import Build, BuildSteps
from ansible_collections.liveiso.customizer.plugins.module_utils._build.host import allocated_bytes, ensure_space
from ansible_collections.liveiso.customizer.plugins.module_utils._build.pipeline import Made, Result, run_build
from ansible_collections.liveiso.customizer.plugins.module_utils._build.stamp import Stamp
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import Config
from ansible_collections.liveiso.customizer.plugins.module_utils._core import tools
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError, ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import chroot_environment
from ansible_collections.liveiso.customizer.plugins.module_utils._image.formats import (
    OUTPUT_FORMATS,
    ImageInfo,
    export_image,
    format_from_extension,
    inspect_image,
    make_raw_work_copy,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.rootfs import mounted_image
from ansible_collections.liveiso.customizer.plugins.module_utils._image.steps import planned_steps, run_steps
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import xorriso
from ansible_collections.liveiso.customizer.plugins.module_utils._live import media

TOOLS: Tuple[str, ...] = tools.needed_by("image_customize")

DiskInfo = Tuple[ImageInfo, str]  # what DiskImagePipeline.inspect found: the input image, the output format


@dataclass(frozen=True)
class CustomizeRequest:
    """An image_customize build of a disk image (a :class:`~.pipeline.Request`)."""

    image: str
    output: str
    config: Config
    output_format: Optional[str] = None
    build_dir: Optional[str] = None
    force: bool = False
    check_mode: bool = False
    checksum: bool = True


def resolve_output_format(output: str, output_format: Optional[str]) -> str:
    """The output format: ``output_format``, or the one the output's extension names (``iso`` included)."""
    fmt = output_format or format_from_extension(output)
    if fmt is None:
        raise ConfigError("output_format", "cannot be derived from the output name %s" % os.path.basename(output),
                          "Set output_format to one of: %s." % ", ".join(sorted(OUTPUT_FORMATS)))
    if fmt == "iso":
        return fmt
    if fmt not in OUTPUT_FORMATS:
        raise ConfigError("output_format", "%r is not one of %s" % (fmt, ", ".join(sorted(OUTPUT_FORMATS))))
    return fmt


def run_customization(build: BuildSteps, raw: str, config: Config, name: Optional[str] = None) -> List[str]:
    """Mount ``raw``, run every wanted step in order inside its chroot, unmount. Returns step notes."""
    with contextlib.ExitStack() as stack:
        with build.step("mount-image"):
            image = stack.enter_context(mounted_image(raw, build.path("mnt"), name=name))
            chroot = stack.enter_context(chroot_environment(image.root))
        notes = ["mounted: %s" % image.describe()] + run_steps(build, chroot, config)
        with build.step("unmount-image"):
            stack.close()
    return notes


class DiskImagePipeline(object):
    """A customized disk image out (raw, qcow2, vhd, vhdx)."""

    kind: str = "image_customize"
    tools: Sequence[str] = TOOLS

    def inspect(self, request: CustomizeRequest) -> DiskInfo:
        info = inspect_image(request.image)
        fmt = resolve_output_format(os.path.abspath(request.output), request.output_format)
        if fmt == "iso":
            raise ConfigError("output_format", "iso output goes through the Live ISO pipeline")
        if info.format == "iso" and media.ROOTFS not in xorriso.list_files(request.image):
            raise ImageError("%s is an ISO image but not a Live OS ISO: it has no %s."
                             % (request.image, media.ROOTFS), "Give a disk image (raw, qcow2, vhd, vhdx).")
        if info.format == "iso":
            raise ImageError("%s is a Live ISO; its customized form can only be an ISO." % request.image,
                             "Set output_format: iso (or an output ending in .iso).")
        if request.config.iso.present:
            raise ConfigError("config.iso", "applies only to ISO output", "Remove it, or build with liveos_iso.")
        return info, fmt

    def options(self, request: CustomizeRequest, inspected: DiskInfo) -> Dict[str, object]:
        return {"output_format": inspected[1]}

    def base_result(self, request: CustomizeRequest, inspected: DiskInfo) -> Result:
        return {"output_format": inspected[1], "input_format": inspected[0].format}

    def current_result(self, stamp: Stamp) -> Result:
        return {}

    def planned_steps(self, request: CustomizeRequest, inspected: DiskInfo) -> List[str]:
        return planned_steps(request.config)

    def make(self, build: Build, request: CustomizeRequest, inspected: DiskInfo, digest: str) -> Made:
        info, fmt = inspected
        # the raw work copy in the build dir, the output (about as large) beside it
        estimate = allocated_bytes(request.image) if info.format == "raw" else max(
            allocated_bytes(request.image), info.virtual_size // 4)
        ensure_space({build.workdir: estimate, os.path.dirname(build.output): estimate})
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
        return Made(tmp, output_sha, "built %s (%s) from %s" % (build.output, fmt, request.image), notes=notes,
                    stamp={"output_format": fmt})


def customize_image(request: CustomizeRequest) -> Result:
    """Run the disk image pipeline for ``request``; return the module result."""
    return run_build(DiskImagePipeline(), request)
