# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GRUB for the live media: its config, BIOS El Torito image and UEFI FAT image (private to this collection).

BIOS: a ``grub-mkimage -O i386-pc-eltorito`` core image from the host's
grub-pc-bin (booted from CD, or from a USB stick through xorriso's
``--grub2-mbr``). UEFI: a FAT image made with mtools (no mount) holding
``EFI/BOOT/BOOTX64.EFI``. When the image carries a signed shim and Debian's
signed CD GRUB, those are used (Secure Boot); otherwise GRUB EFI is built from
the host's grub-efi-amd64-bin. Both GRUBs find the medium by a marker file
unique to this ISO (``/.disk/liveiso-<id>``) and read ``/boot/grub/grub.cfg``,
so the volume label can change on remaster without touching the boot images.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import HostError, ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import clean_env, run
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import grub_quote

BIOS_DIR = "/usr/lib/grub/i386-pc"
EFI_DIR = "/usr/lib/grub/x86_64-efi"
BOOT_HYBRID = BIOS_DIR + "/boot_hybrid.img"
COMMON_MODULES = ("iso9660", "part_gpt", "part_msdos", "fat", "ext2", "normal", "search", "search_fs_file",
                  "search_label", "search_fs_uuid", "configfile", "linux", "echo", "test", "serial", "terminal",
                  "sleep", "ls", "cat", "halt", "reboot", "true", "gzio", "loadenv", "minicmd")
BIOS_MODULES = COMMON_MODULES + ("biosdisk",)
EFI_MODULES = COMMON_MODULES + ("efi_gop", "efi_uga", "all_video", "chain")
# Signed binaries of the image (Debian/Ubuntu: shim-signed, grub-efi-amd64-signed).
SHIM_CANDIDATES = ("/usr/lib/shim/shimx64.efi.signed", "/usr/lib/shim/shimx64.efi")
MOK_CANDIDATES = ("/usr/lib/shim/mmx64.efi.signed", "/usr/lib/shim/mmx64.efi")
SIGNED_GRUB_CANDIDATES = ("/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed",)


def marker_path(boot_id):
    return "/.disk/liveiso-%s" % boot_id


def early_config(boot_id):
    """Embedded config of our own GRUB images: find this medium, then read its grub.cfg."""
    return ("search --no-floppy --file --set=root %s\n"
            "set prefix=($root)/boot/grub\n"
            "configfile ($root)/boot/grub/grub.cfg\n" % marker_path(boot_id))


def grub_cfg(kernel_args, title="Live OS", timeout=3):
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


def grub_mkimage_argv(platform, output, config_path):
    if platform == "bios":
        return ["grub-mkimage", "-O", "i386-pc-eltorito", "-d", BIOS_DIR, "-p", "/boot/grub", "-c", config_path,
                "-o", output] + list(BIOS_MODULES)
    return ["grub-mkimage", "-O", "x86_64-efi", "-d", EFI_DIR, "-p", "/boot/grub", "-c", config_path,
            "-o", output] + list(EFI_MODULES)


def check_host_grub(boot_modes):
    needs = []
    if "bios" in boot_modes and not os.path.isfile(BOOT_HYBRID):
        needs.append("grub-pc-bin")
    if "uefi" in boot_modes and not os.path.isdir(EFI_DIR):
        needs.append("grub-efi-amd64-bin")
    if needs:
        raise HostError("the host lacks GRUB platform files for %s." % ", ".join(boot_modes),
                        "Install them with: apt-get install %s" % " ".join(needs))


def find_signed_chain(chroot):
    """{name on the ESP: image path} for shim + signed GRUB + MokManager, or None when the image lacks them."""
    def first(candidates):
        for path in candidates:
            if os.path.isfile(chroot.path(path)):
                return path
        return None

    shim, grub = first(SHIM_CANDIDATES), first(SIGNED_GRUB_CANDIDATES)
    if not (shim and grub):
        return None
    chain = {"BOOTX64.EFI": shim, "grubx64.efi": grub}
    mok = first(MOK_CANDIDATES)
    if mok:
        chain["mmx64.efi"] = mok
    return chain


def make_bios_image(workdir, boot_id):
    config = os.path.join(workdir, "early-bios.cfg")
    with open(config, "w") as handle:
        handle.write(early_config(boot_id))
    output = os.path.join(workdir, "bios.img")
    run(grub_mkimage_argv("bios", output, config), what="grub-mkimage (BIOS El Torito image)")
    return output


def make_efi_image(workdir, boot_id, signed_files=None, volume_id="1E5B0075", mtime=None):
    """A FAT image with EFI/BOOT/*; ``signed_files`` {name: host path} replaces our GRUB with shim's chain."""
    staging = os.path.join(workdir, "efi-files")
    os.makedirs(staging, exist_ok=True)
    files = {}
    if signed_files:
        for name, path in signed_files.items():
            files[name] = os.path.join(staging, name)
            shutil.copyfile(path, files[name])
    else:
        config = os.path.join(workdir, "early-efi.cfg")
        with open(config, "w") as handle:
            handle.write(early_config(boot_id))
        files["BOOTX64.EFI"] = os.path.join(staging, "BOOTX64.EFI")
        run(grub_mkimage_argv("efi", files["BOOTX64.EFI"], config), what="grub-mkimage (UEFI GRUB)")
    if mtime is not None:
        for path in files.values():
            os.utime(path, (mtime, mtime))
    total = sum(os.path.getsize(p) for p in files.values())
    size_kib = max(1440, ((total * 11 // 10) // 1024 + 512 + 31) // 32 * 32)
    image = os.path.join(workdir, "efiboot.img")
    env = clean_env({"MTOOLS_SKIP_CHECK": "1"})
    if mtime is not None:
        env["SOURCE_DATE_EPOCH"] = str(mtime)
    # No volume label: mkfs.vfat would stamp its directory entry with the current time.
    run(["mkfs.vfat", "-C", "-i", volume_id, image, str(size_kib)], env=env,
        what="mkfs.vfat (UEFI boot image)")
    for directory in ("::/EFI", "::/EFI/BOOT"):
        run(["mmd", "-i", image, directory], env=env)
    for name in sorted(files):
        run(["mcopy", "-m", "-i", image, files[name], "::/EFI/BOOT/" + name], env=env,
            what="mcopy %s into the UEFI boot image" % name)
    return image, files


def require_secure_boot_chain(chain, policy):
    if policy == "required" and not chain:
        raise ImageError("secure_boot is required but the image has no signed shim and signed GRUB.",
                         "Add them to the config: os.packages.install: [shim-signed, grub-efi-amd64-signed].")
