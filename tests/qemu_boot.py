# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot an ISO under qemu-system-x86_64 (TCG) and read what the guest prints on its serial console.

Used by the boot tests and the benchmarks. KVM is not used (it does not work on our build hosts);
each boot has a bounded timeout, the serial log is kept in a file, and qemu is always killed.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

OVMF = "/usr/share/OVMF"
FIRMWARES = ("bios", "uefi", "uefi-secure")


class BootTimeout(AssertionError):
    pass


def qemu_argv(image, log, firmware="bios", media="cdrom", mac=None, memory=2048, workdir=None, ssh_port=None,
              extra_args=()):
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(memory), "-smp", "2", "-display", "none",
            "-monitor", "none", "-serial", "file:" + log, "-no-reboot"]
    if firmware == "uefi-secure":
        argv += ["-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on"]
        code, vars_template = OVMF + "/OVMF_CODE_4M.ms.fd", OVMF + "/OVMF_VARS_4M.ms.fd"
    elif firmware == "uefi":
        argv += ["-machine", "q35"]
        code, vars_template = OVMF + "/OVMF_CODE_4M.fd", OVMF + "/OVMF_VARS_4M.fd"
    else:
        code = vars_template = None
    if code:
        vars_copy = os.path.join(workdir, "OVMF_VARS.fd")
        shutil.copyfile(vars_template, vars_copy)
        argv += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + code,
                 "-drive", "if=pflash,format=raw,unit=1,file=" + vars_copy]
    if media == "cdrom":
        argv += ["-drive", "file=%s,media=cdrom,readonly=on,if=none,id=cd0" % image]
        if firmware == "bios":
            argv += ["-device", "ide-cd,drive=cd0,bootindex=0"]
        else:
            argv += ["-device", "ide-cd,drive=cd0,bootindex=0"]
    else:  # the USB-stick case: the ISO as a plain disk
        argv += ["-drive", "file=%s,format=raw,readonly=on,if=none,id=disk0" % image,
                 "-device", "virtio-blk-pci,drive=disk0,bootindex=0"]
    netdev = "user,id=n0" + (",hostfwd=tcp:127.0.0.1:%d-:22" % ssh_port if ssh_port else "")
    argv += ["-netdev", netdev, "-device", "virtio-net-pci,netdev=n0" + (",mac=" + mac if mac else "")]
    return argv + list(extra_args)


def boot(image, log, until, firmware="bios", media="cdrom", timeout=480, mac=None, fail_on=None, extra_args=()):
    """Boot ``image`` and return the serial log text once regex ``until`` appears.

    Raises BootTimeout (with the log's tail) if it does not appear within ``timeout`` seconds, or if
    regex ``fail_on`` appears first. The log stays at ``log``.
    """
    workdir = tempfile.mkdtemp(prefix="qemu-", dir=os.path.dirname(os.path.abspath(log)))
    argv = qemu_argv(image, log, firmware, media, mac, workdir=workdir, extra_args=extra_args)
    if os.path.exists(log):
        os.unlink(log)
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    text = ""
    try:
        while True:
            if os.path.exists(log):
                with open(log, errors="replace") as handle:
                    text = handle.read()
            if re.search(until, text):
                return text
            if fail_on and re.search(fail_on, text):
                raise BootTimeout("boot of %s (%s, %s) failed: /%s/ seen. Log %s, tail:\n%s"
                                  % (image, firmware, media, fail_on, log, text[-3000:]))
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace")
                raise BootTimeout("qemu exited (%s) before /%s/ appeared: %s. Log %s, tail:\n%s"
                                  % (proc.returncode, until, out[-1000:], log, text[-3000:]))
            if time.monotonic() - started > timeout:
                raise BootTimeout("no /%s/ after %ss booting %s (%s, %s). Log %s, tail:\n%s"
                                  % (until, timeout, image, firmware, media, log, text[-3000:]))
            time.sleep(2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
        shutil.rmtree(workdir, ignore_errors=True)
        with open(log + ".seconds", "w") as handle:
            handle.write("%.1f\n" % (time.monotonic() - started))
