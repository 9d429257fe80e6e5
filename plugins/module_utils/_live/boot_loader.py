# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GRUB for the live media: its config, BIOS El Torito image and UEFI FAT image (private to this collection).

BIOS: a ``grub-mkimage -O i386-pc-eltorito`` core image from the host's
grub-pc-bin (booted from CD, or from a USB stick through xorriso's
``--grub2-mbr``). UEFI: a FAT image made with mtools (no mount) holding
``EFI/BOOT/BOOTX64.EFI``. When the image carries a signed shim and a signed
GRUB, those are used (Secure Boot): Debian's package paths (shim-signed,
grub-efi-amd64-signed), or the distribution's own chain on its ESP
(``/boot/efi/EFI/<vendor>/shimx64.efi`` + ``grubx64.efi``: Fedora, RHEL-likes,
Azure Linux's ``EFI/BOOT``); otherwise GRUB EFI is built from the host's
grub-efi-amd64-bin. Both GRUBs find the medium by a marker file unique to this
ISO (``/.disk/liveiso-<id>``) and read ``/boot/grub/grub.cfg``, so the volume
label can change on remaster without touching the boot images. A vendor's
signed GRUB is one image with a built-in prefix (Fedora's reads
``/EFI/fedora/grub.cfg``, Debian's ``/EFI/debian/grub.cfg`` or, on a CD, the
medium with ``/.disk/info``): that prefix is read from the image's module
section and a config that finds the medium is put there on the FAT image.
"""

from __future__ import annotations

import os
import shutil
import struct
from typing import Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core import tools
from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import HostError, ImageError, os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import set_mtime
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import clean_env, run, source_date_env
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot
from ansible_collections.liveiso.customizer.plugins.module_utils._image.fat import MTOOLS_ENV
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import grub_quote
from ansible_collections.liveiso.customizer.plugins.module_utils._image.partitions import Partition

# The host's GRUB platform files (read at call time: tests point them elsewhere).
BIOS_DIR: str = tools.GRUB_BIOS_DIR
EFI_DIR: str = tools.GRUB_EFI_DIR
BOOT_HYBRID: str = tools.BOOT_HYBRID_IMG
COMMON_MODULES: Tuple[str, ...] = (
    "iso9660", "part_gpt", "part_msdos", "fat", "ext2", "normal", "search", "search_fs_file", "search_label",
    "search_fs_uuid", "configfile", "linux", "echo", "test", "serial", "terminal", "sleep", "ls", "cat", "halt",
    "reboot", "true", "gzio", "loadenv", "minicmd")
BIOS_MODULES: Tuple[str, ...] = COMMON_MODULES + ("biosdisk",)
EFI_MODULES: Tuple[str, ...] = COMMON_MODULES + ("efi_gop", "efi_uga", "all_video", "chain")
# Signed binaries of the image, Debian/Ubuntu: shim-signed, grub-efi-amd64-signed (the CD GRUB first).
SHIM_CANDIDATES: Tuple[str, ...] = ("/usr/lib/shim/shimx64.efi.signed", "/usr/lib/shim/shimx64.efi.signed.latest",
                                    "/usr/lib/shim/shimx64.efi")
MOK_CANDIDATES: Tuple[str, ...] = ("/usr/lib/shim/mmx64.efi.signed", "/usr/lib/shim/mmx64.efi")
SIGNED_GRUB_CANDIDATES: Tuple[str, ...] = ("/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed",
                                           "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed")
# ... and the distribution's own chain on its ESP (Fedora, RHEL-likes: EFI/<vendor>/; Azure Linux: EFI/BOOT/),
# or openSUSE's /usr/share/efi. fbx64.efi (shim's fallback) is never taken: shim would run it instead of GRUB.
ESP_MOUNT: str = "/boot/efi"
ESP_SHIM_NAMES: Tuple[str, ...] = ("shimx64.efi", "shim.efi", "bootx64.efi")
ESP_GRUB_NAMES: Tuple[str, ...] = ("grubx64.efi", "grub.efi")
ESP_MOK_NAMES: Tuple[str, ...] = ("mmx64.efi", "MokManager.efi")
SUSE_EFI_DIR: str = "/usr/share/efi/x86_64"
# Host GRUB tools and module directories by distribution (Debian names first, then Fedora's and openSUSE's).
MKIMAGE_NAMES: Tuple[str, ...] = ("grub-mkimage", "grub2-mkimage")
MODULE_ROOTS: Tuple[str, ...] = ("/usr/lib/grub", "/usr/lib/grub2", "/usr/share/grub2")
# The image's GRUB layout: Debian's /boot/grub, Fedora's and Azure Linux's /boot/grub2.
IMAGE_GRUB_DIRS: Tuple[str, ...] = ("/boot/grub", "/boot/grub2")


class GrubPlatform(StrEnum):
    """A firmware GRUB boots the live media from; the values are the boot modes (``boot_modes``)."""

    BIOS = "bios"
    UEFI = "uefi"

    @property
    def boot_image(self) -> str:
        """The media path of this mode's El Torito boot image."""
        return "/boot/grub/bios.img" if self is GrubPlatform.BIOS else "/boot/grub/efiboot.img"

    @property
    def mkimage_format(self) -> str:
        """grub-mkimage's ``-O``: an El Torito core image, or an EFI application."""
        return "i386-pc-eltorito" if self is GrubPlatform.BIOS else "x86_64-efi"

    @property
    def directory(self) -> str:
        """The host's GRUB module directory for this platform (Debian's path, else Fedora's or openSUSE's)."""
        default = BIOS_DIR if self is GrubPlatform.BIOS else EFI_DIR
        if os.path.isdir(default):
            return default
        others = [os.path.join(root, os.path.basename(default)) for root in MODULE_ROOTS]
        return next((path for path in others if os.path.isdir(path)), default)

    @property
    def modules(self) -> Tuple[str, ...]:
        return BIOS_MODULES if self is GrubPlatform.BIOS else EFI_MODULES

    def host_files_present(self) -> bool:
        """Does the host have this platform's GRUB files (BIOS: boot_hybrid.img, UEFI: the module directory)?"""
        if self is GrubPlatform.BIOS:
            return os.path.isfile(BOOT_HYBRID)
        return os.path.isdir(EFI_DIR)

    @property
    def host_package(self) -> str:
        """The Debian package with this platform's GRUB files."""
        return tools.debian_package(tools.BOOT_HYBRID_IMG if self is GrubPlatform.BIOS else tools.GRUB_EFI_DIR)


def marker_path(boot_id: str) -> str:
    """The media path of the marker file both GRUBs find this medium by."""
    return "/.disk/liveiso-%s" % boot_id


def early_config(boot_id: str) -> str:
    """Embedded config of our own GRUB images: find this medium, then read its grub.cfg."""
    return ("search --no-floppy --file --set=root %s\n"
            "set prefix=($root)/boot/grub\n"
            "configfile ($root)/boot/grub/grub.cfg\n" % marker_path(boot_id))


def grub_cfg(kernel_args: Iterable[str], title: str = "Live OS", timeout: int = 3) -> str:
    """The media's /boot/grub/grub.cfg (serial and screen consoles both)."""
    args = " ".join(grub_quote(arg) for arg in kernel_args)
    return ("# Written by liveiso.customizer\n"
            "set default=0\n"
            "set timeout=%d\n"
            "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1\n"
            "terminal_input console serial\n"
            "terminal_output console serial\n"
            "menuentry '%s' {\n"
            "    linux /boot/vmlinuz %s\n"
            "    initrd /boot/initrd.img\n"
            "}\n"
            "menuentry '%s (copy to RAM)' {\n"
            "    linux /boot/vmlinuz %s rd.live.ram=1\n"
            "    initrd /boot/initrd.img\n"
            "}\n" % (timeout, title.replace("'", ""), args, title.replace("'", ""), args))


def mkimage_command() -> str:
    """The host's grub-mkimage: Debian's name, or Fedora's and openSUSE's grub2-mkimage."""
    path = clean_env()["PATH"]
    return next((name for name in MKIMAGE_NAMES if shutil.which(name, path=path)), MKIMAGE_NAMES[0])


class ImageGrubLayout(NamedTuple):
    """Where the image keeps GRUB: ``/boot/grub`` (Debian) or ``/boot/grub2`` (Fedora, Azure Linux)."""

    directory: Optional[str]  # the image path of its GRUB directory, None when it has none
    grub_cfg: Optional[str]  # its grub.cfg, when present
    grubenv: Optional[str]  # its grubenv, when present
    module_dirs: Tuple[str, ...]  # its installed platform modules (/usr/lib/grub/x86_64-efi, /usr/lib/grub2/...)

    @property
    def mkconfig(self) -> str:
        """The image's grub-mkconfig name for this layout."""
        return "grub2-mkconfig" if self.directory == "/boot/grub2" else "grub-mkconfig"


def image_grub_layout(chroot: Chroot) -> ImageGrubLayout:
    """What the image has: its GRUB directory (the one holding a grub.cfg first), config, grubenv, modules."""
    dirs = [d for d in IMAGE_GRUB_DIRS if os.path.isdir(chroot.path(d))]
    with_cfg = [d for d in dirs if os.path.isfile(chroot.path(d + "/grub.cfg"))]
    directory: Optional[str] = (with_cfg or dirs)[0] if (with_cfg or dirs) else None
    modules = tuple(os.path.join(root, platform) for root in MODULE_ROOTS for platform in ("x86_64-efi", "i386-pc")
                    if os.path.isdir(chroot.path(os.path.join(root, platform))))
    return ImageGrubLayout(directory, directory + "/grub.cfg" if directory in with_cfg else None,
                           directory + "/grubenv" if directory and os.path.isfile(chroot.path(directory + "/grubenv"))
                           else None, modules)


def grub_mkimage_argv(platform: Union[GrubPlatform, str], output: str, config_path: str) -> List[str]:
    """The grub-mkimage argv of our GRUB image for ``platform`` (embedding ``config_path``)."""
    target = GrubPlatform(platform)
    return [mkimage_command(), "-O", target.mkimage_format, "-d", target.directory, "-p", "/boot/grub",
            "-c", config_path, "-o", output] + list(target.modules)


def check_host_grub(boot_modes: Iterable[Union[GrubPlatform, str]]) -> None:
    """Fail with the packages to install when the host lacks the GRUB files of a boot mode."""
    platforms = [GrubPlatform(mode) for mode in boot_modes]
    needs = [platform.host_package for platform in platforms if not platform.host_files_present()]
    if needs:
        raise HostError("the host lacks GRUB platform files for %s." % ", ".join(platforms),
                        "Install them with: apt-get install %s" % " ".join(needs))


class SignedChain(NamedTuple):
    """The image's signed boot chain: {name in EFI/BOOT: host path}, and where each file is in the image."""

    files: Dict[str, str]
    origin: Dict[str, str]


def _present(directory: str, names: Sequence[str]) -> Optional[str]:
    """The first of ``names`` in host ``directory``, matched without case (FAT has none)."""
    try:
        entries = {entry.lower(): entry for entry in sorted(os.listdir(directory))}
    except OSError:
        return None
    for name in names:
        entry = entries.get(name.lower())
        if entry and os.path.isfile(os.path.join(directory, entry)):
            return entry
    return None


def _debian_chain(chroot: Chroot) -> Optional[SignedChain]:
    def first(candidates: Sequence[str]) -> Optional[str]:
        return next((path for path in candidates if os.path.isfile(chroot.path(path))), None)

    shim, grub, mok = first(SHIM_CANDIDATES), first(SIGNED_GRUB_CANDIDATES), first(MOK_CANDIDATES)
    if not (shim and grub):
        return None
    origin = dict([("BOOTX64.EFI", shim), ("grubx64.efi", grub)] + ([("mmx64.efi", mok)] if mok else []))
    return SignedChain({name: chroot.path(path) for name, path in origin.items()}, origin)


def _directory_chain(host_dir: str, image_dir: str, shims: Sequence[str], grubs: Sequence[str],
                     moks: Sequence[str]) -> Optional[SignedChain]:
    shim, grub, mok = _present(host_dir, shims), _present(host_dir, grubs), _present(host_dir, moks)
    if not (shim and grub):
        return None
    names = [("BOOTX64.EFI", shim), ("grubx64.efi", grub)] + ([("mmx64.efi", mok)] if mok else [])
    return SignedChain({name: os.path.join(host_dir, entry) for name, entry in names},
                       {name: image_dir + "/" + entry for name, entry in names})


def _esp_chain(host_esp: str, image_esp: str) -> Optional[SignedChain]:
    """A vendor's chain on an ESP: EFI/<vendor>/ (sorted, BOOT last), shim + GRUB side by side."""
    efi = os.path.join(host_esp, _present_dir(host_esp, "EFI") or "EFI")
    vendors = sorted((d for d in (os.listdir(efi) if os.path.isdir(efi) else [])
                      if os.path.isdir(os.path.join(efi, d))), key=lambda d: (d.lower() == "boot", d.lower()))
    for vendor in vendors:
        shims = ESP_SHIM_NAMES if vendor.lower() == "boot" else ESP_SHIM_NAMES[:2]
        chain = _directory_chain(os.path.join(efi, vendor), "%s/EFI/%s" % (image_esp, vendor), shims,
                                 ESP_GRUB_NAMES, ESP_MOK_NAMES)
        if chain:
            return chain
    return None


def _present_dir(directory: str, name: str) -> Optional[str]:
    try:
        return next((e for e in os.listdir(directory) if e.lower() == name.lower()), None)
    except OSError:
        return None


def signed_chain_places(esp_copies: Sequence[Tuple[str, str]] = ()) -> List[str]:
    """Where :func:`find_signed_chain` looks, for the error that names them."""
    places = ["%s (or %s) + %s" % (SHIM_CANDIDATES[0], ", ".join(SHIM_CANDIDATES[1:]), " or ".join(SIGNED_GRUB_CANDIDATES))]
    for esp in [ESP_MOUNT] + [label for label, _host in esp_copies]:
        places.append("%s/EFI/<vendor>/{%s} + {%s}" % (esp, ",".join(ESP_SHIM_NAMES[:2]), ",".join(ESP_GRUB_NAMES)))
        places.append("%s/EFI/BOOT/{%s} + {%s}" % (esp, ",".join(ESP_SHIM_NAMES), ",".join(ESP_GRUB_NAMES)))
    places.append("%s/{shim.efi} + {grub.efi}" % SUSE_EFI_DIR)
    return places


def find_signed_chain(chroot: Chroot, esp_copies: Sequence[Tuple[str, str]] = ()) -> Optional[SignedChain]:
    """The image's shim + signed GRUB (+ MokManager), or None when it has none.

    Debian's package paths first, then the vendor directories of the root's ``/boot/efi`` and of each ESP
    copy in ``esp_copies`` ((image description, host directory): the image's ESPs, not mounted for the
    Live ISO), then openSUSE's ``/usr/share/efi``.
    """
    chain = _debian_chain(chroot)
    for label, host in [(ESP_MOUNT, chroot.path(ESP_MOUNT))] + list(esp_copies):
        chain = chain or _esp_chain(host, label)
    return chain or _directory_chain(chroot.path(SUSE_EFI_DIR), SUSE_EFI_DIR, ("shim.efi",), ("grub.efi",),
                                     ("MokManager.efi",))


def copy_esps(raw: str, partitions: Iterable[Partition], dest: str) -> List[Tuple[str, str]]:
    """Copies of the ``EFI`` directory of each FAT partition of ``raw`` (mtools, read only), under ``dest``:
    [(image description, host directory)]."""
    copies: List[Tuple[str, str]] = []
    for partition in partitions:
        if partition.fstype != "vfat":
            continue
        spec = "%s@@%d" % (raw, partition.offset)
        if not run(["mdir", "-b", "-i", spec, "::/EFI"], extra_env=MTOOLS_ENV, check=False).stdout.strip():
            continue
        host = os.path.join(dest, "esp-%d" % partition.number)
        os.makedirs(host, exist_ok=True)
        copied = run(["mcopy", "-s", "-n", "-m", "-i", spec, "::/EFI", host + "/"], extra_env=MTOOLS_ENV, check=False,
                     what="copying the ESP's EFI directory (partition %d) with mtools" % partition.number)
        if copied.returncode != 0:  # a damaged FAT: searched no further (secure_boot: required names it)
            LOG.warning("partition %d: cannot copy its EFI directory with mtools: %s", partition.number,
                        copied.stderr.strip()[-300:])
            continue
        copies.append(("partition %d:" % partition.number, host))
    return copies


# grub-mkimage's module section: "mimg", padding, offset and size (64-bit), then objects (type, size).
GRUB_MODULE_MAGIC: bytes = b"mimg"
GRUB_OBJ_CONFIG: int = 2
GRUB_OBJ_PREFIX: int = 3


def grub_embedded(data: bytes) -> Dict[int, bytes]:
    """{object type: bytes} of the config (2) and prefix (3) built into a GRUB EFI image by grub-mkimage."""
    found: Dict[int, bytes] = {}
    start = data.find(GRUB_MODULE_MAGIC)
    while start >= 0 and not found:
        if start + 24 <= len(data):
            padding, offset, size = struct.unpack_from("<IQQ", data, start + 4)
            if padding == 0 and offset == 24 and start + size <= len(data):
                position, end = start + offset, start + size
                while position + 8 <= end:
                    kind, length = struct.unpack_from("<II", data, position)
                    if length < 8:
                        break
                    if kind in (GRUB_OBJ_CONFIG, GRUB_OBJ_PREFIX):
                        found[kind] = data[position + 8:position + length].rstrip(b"\0")
                    position += length
        start = data.find(GRUB_MODULE_MAGIC, start + 1)
    return found


def grub_prefix_dir(path: str) -> Optional[str]:
    """The ESP directory a signed GRUB image reads its grub.cfg from (``/EFI/fedora``), or None."""
    with os_errors_as("read the signed GRUB image", path), open(path, "rb") as handle:
        prefix = grub_embedded(handle.read()).get(GRUB_OBJ_PREFIX, b"").decode("utf-8", "replace")
    if prefix.startswith("("):
        prefix = prefix[prefix.find(")") + 1:]
    prefix = "/" + prefix.strip("/")
    return prefix if prefix.lower().startswith("/efi/") else None


def _write_early_config(workdir: str, name: str, boot_id: str) -> str:
    config = os.path.join(workdir, name)
    with os_errors_as("write GRUB's early config", config), open(config, "w") as handle:
        handle.write(early_config(boot_id))
    return config


def make_bios_image(workdir: str, boot_id: str) -> str:
    """Our BIOS El Torito GRUB image, in ``workdir``; its path."""
    config = _write_early_config(workdir, "early-bios.cfg", boot_id)
    output = os.path.join(workdir, "bios.img")
    run(grub_mkimage_argv(GrubPlatform.BIOS, output, config), what="grub-mkimage (BIOS El Torito image)")
    return output


def _signed_staging(workdir: str, boot_id: str, staging: str, signed_files: Mapping[str, str]) -> Dict[str, str]:
    """{media path: host path} of the signed chain's files and the configs its GRUB reads.

    Our early config goes to ``/EFI/BOOT/grub.cfg`` (GRUB's ``$cmdpath``) and, when the GRUB image has a
    built-in prefix on the ESP (``/EFI/fedora``, ``/EFI/debian``), to ``<prefix>/grub.cfg`` too.
    """
    files: Dict[str, str] = {}
    for name, path in signed_files.items():
        files["/EFI/BOOT/" + name] = os.path.join(staging, name)
        with os_errors_as("copy the signed EFI binary %s" % name, path):
            shutil.copyfile(path, files["/EFI/BOOT/" + name])
    config = _write_early_config(workdir, "early-signed.cfg", boot_id)
    prefix = grub_prefix_dir(files["/EFI/BOOT/grubx64.efi"]) if "grubx64.efi" in signed_files else None
    for directory in sorted({"/EFI/BOOT", prefix or "/EFI/BOOT"}):
        files[directory + "/grub.cfg"] = config
    return files


def make_efi_image(workdir: str, boot_id: str, signed_files: Optional[Mapping[str, str]] = None,
                   volume_id: str = "1E5B0075", mtime: Optional[int] = None) -> Tuple[str, Dict[str, str]]:
    """A FAT image with EFI/BOOT/*; ``signed_files`` {name: host path} replaces our GRUB with shim's chain.

    Returns (the image's path, {media path (/EFI/...): host path}): the ISO carries the same files.
    """
    staging = os.path.join(workdir, "efi-files")
    os.makedirs(staging, exist_ok=True)
    files: Dict[str, str] = {}
    if signed_files:
        files = _signed_staging(workdir, boot_id, staging, signed_files)
    else:
        config = _write_early_config(workdir, "early-efi.cfg", boot_id)
        files["/EFI/BOOT/BOOTX64.EFI"] = os.path.join(staging, "BOOTX64.EFI")
        run(grub_mkimage_argv(GrubPlatform.UEFI, files["/EFI/BOOT/BOOTX64.EFI"], config),
            what="grub-mkimage (UEFI GRUB)")
    for path in files.values():
        set_mtime(path, mtime)
    total = sum(os.path.getsize(p) for p in files.values())
    size_kib = max(1440, ((total * 11 // 10) // 1024 + 512 + 31) // 32 * 32)
    image = os.path.join(workdir, "efiboot.img")
    env = dict(MTOOLS_ENV, **source_date_env(mtime))
    # No volume label: mkfs.vfat would stamp its directory entry with the current time.
    run(["mkfs.vfat", "-C", "-i", volume_id, image, str(size_kib)], extra_env=env,
        what="mkfs.vfat (UEFI boot image)")
    directories = sorted({"/EFI"} | {os.path.dirname(media) for media in files})
    for directory in directories:
        run(["mmd", "-i", image, "::" + directory], extra_env=env)
    for media in sorted(files):
        run(["mcopy", "-m", "-i", image, files[media], "::" + media], extra_env=env,
            what="mcopy %s into the UEFI boot image" % media)
    return image, files


def require_secure_boot_chain(chain: Optional[object], policy: str, looked_for: Sequence[str] = ()) -> None:
    """Fail when ``policy`` (secure_boot) is "required" and the image has no signed chain (naming
    ``looked_for``, the places searched)."""
    if policy == "required" and not chain:
        where = " (looked for: %s)" % "; ".join(looked_for) if looked_for else ""
        raise ImageError("secure_boot is required but the image has no signed shim and signed GRUB%s." % where,
                         "Add them to the config: os.packages.install: [shim-signed, grub-efi-amd64-signed] "
                         "(Debian, Ubuntu), or [shim-x64, grub2-efi-x64] (Fedora, RHEL-likes, Azure Linux: "
                         "they install to /boot/efi/EFI/<vendor>/).")
