# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Disk image formats: detection by content, work copies and exports (private to this collection).

Formats are detected with ``qemu-img info`` (and an ISO 9660 signature check),
never from the file name. The input is only ever read.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import require_tools, run


class ImageFormat(StrEnum):
    """A disk image format by our name (``output_format``), with its qemu-img name and options."""

    RAW = "raw"
    QCOW2 = "qcow2"
    VHD = "vhd"
    VHD_FIXED = "vhd-fixed"
    VHDX = "vhdx"
    ISO = "iso"  # an input only: a Live ISO

    @property
    def qemu_format(self) -> str:
        return _QEMU_FORMATS[self][0]

    @property
    def qemu_options(self) -> Tuple[str, ...]:
        """``-o`` options of ``qemu-img convert`` that write this format."""
        return _QEMU_FORMATS[self][1]

    @property
    def is_output(self) -> bool:
        """Can an image be exported in this format (every disk format; not an ISO)?"""
        return self is not ImageFormat.ISO

    @classmethod
    def from_qemu(cls, name: object) -> Optional[ImageFormat]:
        """Our format for the format ``qemu-img info`` reports (vhd-fixed reads as vhd), or None."""
        return _FROM_QEMU.get(name) if isinstance(name, str) else None


_QEMU_FORMATS: Dict[ImageFormat, Tuple[str, Tuple[str, ...]]] = {
    ImageFormat.RAW: ("raw", ()),
    ImageFormat.QCOW2: ("qcow2", ()),
    ImageFormat.VHD: ("vpc", ("subformat=dynamic",)),
    ImageFormat.VHD_FIXED: ("vpc", ("subformat=fixed", "force_size=on")),
    ImageFormat.VHDX: ("vhdx", ()),
    ImageFormat.ISO: ("raw", ()),
}
_FROM_QEMU: Dict[str, ImageFormat] = {"raw": ImageFormat.RAW, "qcow2": ImageFormat.QCOW2, "vpc": ImageFormat.VHD,
                                      "vhdx": ImageFormat.VHDX}
# Our output_format names -> (qemu-img format, extra -o options)
OUTPUT_FORMATS: Dict[str, Tuple[str, List[str]]] = {
    fmt.value: (fmt.qemu_format, list(fmt.qemu_options)) for fmt in ImageFormat if fmt.is_output}
EXTENSION_FORMATS: Dict[str, ImageFormat] = {
    ".raw": ImageFormat.RAW, ".img": ImageFormat.RAW, ".qcow2": ImageFormat.QCOW2, ".vhd": ImageFormat.VHD,
    ".vhdx": ImageFormat.VHDX, ".iso": ImageFormat.ISO}


class ImageInfo(object):
    """What :func:`inspect_image` found: the image's format and its virtual and allocated sizes."""

    def __init__(self, path: str, fmt: ImageFormat, virtual_size: int, actual_size: int) -> None:
        self.path = path
        self.format = fmt
        self.virtual_size = virtual_size
        self.actual_size = actual_size


def is_iso9660(path: str) -> bool:
    """True if ``path`` carries an ISO 9660 primary volume descriptor."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0x8001)
            return handle.read(5) == b"CD001"
    except OSError:
        return False


def has_vhd_footer(path: str) -> bool:
    """True if the last 512 bytes are a VHD footer (a fixed VHD looks like raw to qemu-img's probe)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(-512, os.SEEK_END)
            return handle.read(8) == b"conectix"
    except OSError:
        return False


def inspect_image(path: str) -> ImageInfo:
    """Detect the format of ``path`` and its sizes, or raise ImageError saying why not."""
    if not os.path.isfile(path):
        raise ImageError("input image %s does not exist or is not a regular file." % path,
                         "Check the image path.")
    if not os.access(path, os.R_OK):
        raise ImageError("input image %s is not readable." % path, "Check its permissions.")
    size = os.path.getsize(path)
    if size == 0:
        raise ImageError("input image %s is empty." % path, "Point image at a disk image or Live ISO.")
    require_tools("qemu-img")
    if is_iso9660(path):
        return ImageInfo(path, ImageFormat.ISO, size, size)
    argv = ["qemu-img", "info", "--output=json"]
    if size >= 1024 and has_vhd_footer(path):
        argv += ["-f", "vpc"]
    try:
        info = json.loads(run(argv + [path], what="reading image %s" % path).stdout)
    except CommandError as err:
        raise ImageError("cannot read input image %s: %s" % (path, err.output_tail),
                         "It must be a raw, qcow2, vhd or vhdx disk image or a Live ISO.")
    if info.get("backing-filename"):
        raise ImageError("input image %s has a backing file (%s)." % (path, info["backing-filename"]),
                         "Flatten it first: qemu-img convert -O qcow2 %s flat.qcow2" % path)
    fmt = ImageFormat.from_qemu(info.get("format"))
    if fmt is None:
        raise ImageError("input image %s has unsupported format %s." % (path, info.get("format")),
                         "Supported: raw, qcow2, vhd, vhdx, iso.")
    if info.get("format-specific", {}).get("data", {}).get("corrupt"):
        raise ImageError("input image %s is marked corrupt." % path, "Repair it with qemu-img check -r all.")
    if fmt is ImageFormat.QCOW2:
        # a truncated qcow2 converts "fine" (the missing clusters read as zeros): check its structure
        check = run(["qemu-img", "check", "-f", "qcow2", path], check=False)
        if check.returncode in (1, 2):
            raise ImageError("input image %s is damaged or truncated (qemu-img check found errors)." % path,
                             "Copy or download it again; qemu-img check %s shows the details." % path)
    return ImageInfo(path, fmt, int(info.get("virtual-size", size)), int(info.get("actual-size", size)))


def make_raw_work_copy(info: ImageInfo, dest: str) -> str:
    """Write a raw copy of the image to ``dest`` (sparse; reflinked where the filesystem can)."""
    if info.format is ImageFormat.RAW:
        run(["cp", "--reflink=auto", "--sparse=always", info.path, dest], what="copying the input image")
        return dest
    try:
        run(["qemu-img", "convert", "-f", info.format.qemu_format, "-O", "raw", info.path, dest],
            what="converting the input image")
    except CommandError as err:
        raise ImageError("cannot convert input image %s: %s" % (info.path, err.output_tail),
                         "The image may be truncated or damaged; check it with qemu-img check.")
    return dest


def _output_format(fmt: Union[ImageFormat, str]) -> ImageFormat:
    output = ImageFormat(fmt)
    if not output.is_output:
        raise ValueError("%s is not an output format" % output)
    return output


def export_argv(raw: str, fmt: Union[ImageFormat, str], dest: str) -> List[str]:
    """The qemu-img argv that writes the raw work image ``raw`` as ``fmt`` to ``dest``."""
    output = _output_format(fmt)
    argv = ["qemu-img", "convert", "-f", "raw", "-O", output.qemu_format]
    if output is ImageFormat.QCOW2:
        argv.append("-W")  # out-of-order writes: about 3x faster; qcow2 maps clusters, so order is irrelevant
    if output.qemu_options:
        argv += ["-o", ",".join(output.qemu_options)]
    return argv + [raw, dest]


def export_image(raw: str, fmt: Union[ImageFormat, str], dest: str) -> str:
    """Write the work image as ``fmt`` to ``dest`` (a temp path; the caller renames it)."""
    if _output_format(fmt) is ImageFormat.RAW:
        run(["cp", "--reflink=auto", "--sparse=always", raw, dest], what="writing the output image")
    else:
        run(export_argv(raw, fmt, dest), what="writing the %s output image" % fmt)
    return dest


def format_from_extension(path: str) -> Optional[ImageFormat]:
    """The format an output file name implies (``.qcow2``: qcow2), or None."""
    return EXTENSION_FORMATS.get(os.path.splitext(path)[1].lower())
