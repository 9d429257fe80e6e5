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
              smp=2, cpu=None, extra_args=()):
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(memory), "-smp", str(smp), "-display", "none",
            "-monitor", "none", "-serial", "file:" + log, "-no-reboot"] + (["-cpu", cpu] if cpu else [])
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


class Boot:
    """One guest being booted: ``start`` it, then ``poll`` until it returns the log text or raises BootTimeout.

    ``boot`` and ``boot_many`` are built on it; it is public so a test can boot while it does something else.
    """

    def __init__(self, image, log, until, firmware="bios", media="cdrom", timeout=480, mac=None, fail_on=None,
                 smp=2, cpu=None, extra_args=()):
        self.image, self.log, self.until, self.firmware, self.media = image, log, until, firmware, media
        self.timeout, self.mac, self.fail_on, self.smp, self.cpu = timeout, mac, fail_on, smp, cpu
        self.extra_args = extra_args
        self.proc = self.workdir = self.started = None
        self.text = ""

    def start(self):
        self.workdir = tempfile.mkdtemp(prefix="qemu-", dir=os.path.dirname(os.path.abspath(self.log)))
        argv = qemu_argv(self.image, self.log, self.firmware, self.media, self.mac, workdir=self.workdir,
                         smp=self.smp, cpu=self.cpu, extra_args=self.extra_args)
        if os.path.exists(self.log):
            os.unlink(self.log)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def poll(self):
        """None while the guest is still on its way; the log text once ``until`` appeared (qemu is then
        stopped). Raises BootTimeout (qemu stopped too) on ``fail_on``, qemu's exit or the timeout."""
        try:
            text = self._check()
        except BaseException:
            self.stop()
            raise
        if text is not None:
            self.stop()
        return text

    def _check(self):
        if os.path.exists(self.log):
            with open(self.log, errors="replace") as handle:
                self.text = handle.read()
        where = "%s (%s, %s)" % (self.image, self.firmware, self.media)
        if re.search(self.until, self.text):
            return self.text
        if self.fail_on and re.search(self.fail_on, self.text):
            raise BootTimeout("boot of %s failed: /%s/ seen. Log %s, tail:\n%s"
                              % (where, self.fail_on, self.log, self.text[-3000:]))
        if self.proc.poll() is not None:
            out = self.proc.stdout.read().decode(errors="replace")
            raise BootTimeout("qemu exited (%s) before /%s/ appeared booting %s: %s. Log %s, tail:\n%s"
                              % (self.proc.returncode, self.until, where, out[-1000:], self.log, self.text[-3000:]))
        if time.monotonic() - self.started > self.timeout:
            raise BootTimeout("no /%s/ after %ss booting %s. Log %s, tail:\n%s"
                              % (self.until, self.timeout, where, self.log, self.text[-3000:]))
        return None

    def wait(self):
        while True:
            text = self.poll()
            if text is not None:
                return text
            time.sleep(2)

    def stop(self):
        """Kill qemu (if it still runs), remove its work dir, write the boot's seconds to ``<log>.seconds``."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc.stdout.close()
        self.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)
        with open(self.log + ".seconds", "w") as handle:
            handle.write("%.1f\n" % (time.monotonic() - self.started))


def boot(image, log, until, firmware="bios", media="cdrom", timeout=480, mac=None, fail_on=None, smp=2,
         cpu=None, extra_args=()):
    """Boot ``image`` and return the serial log text once regex ``until`` appears.

    Raises BootTimeout (with the log's tail) if it does not appear within ``timeout`` seconds, or if
    regex ``fail_on`` appears first. The log stays at ``log``.
    """
    one = Boot(image, log, until, firmware, media, timeout, mac, fail_on, smp, cpu, extra_args).start()
    try:
        return one.wait()
    finally:
        one.stop()


def boot_many(boots, jobs=2):
    """Boot several guests, ``jobs`` at a time, each with one vCPU: under TCG a guest's boot is mostly
    serial, so two one-vCPU guests side by side take less wall time than two two-vCPU boots in turn (see
    docs/performance.md, "Boot tests under TCG").

    ``boots`` maps a name to the keyword arguments of ``boot`` (``smp`` defaults to 1). Returns a dict:
    name -> the log text, or the BootTimeout (or other exception) that boot raised, so one failed guest
    fails only the tests that look at it. A guest's timeout runs from its own start.
    """
    waiting = list(boots.items())
    running, results = {}, {}
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                name, kwargs = waiting.pop(0)
                kwargs = dict(kwargs)
                kwargs.setdefault("smp", 1)
                try:
                    running[name] = Boot(**kwargs).start()
                except Exception as error:  # noqa: BLE001 - reported to the test that wanted this boot
                    results[name] = error
            for name, one in list(running.items()):
                try:
                    text = one.poll()
                except Exception as error:  # noqa: BLE001 - as above
                    results[name] = error
                    del running[name]
                    continue
                if text is not None:
                    results[name] = text
                    del running[name]
            if running:
                time.sleep(2)
    finally:
        for one in running.values():
            one.stop()
    return results
