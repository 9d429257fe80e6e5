# SPDX-License-Identifier: GPL-3.0-or-later
"""The ISO readers' fuzzer at scale: N damaged ISOs (default 100,000), counts by outcome, the slowest case.

The cases are those of tests/unit/plugins/module_utils/_iso/test_iso_fuzz.py (whose unit test runs 2,000 of them): the same ISOs (a
BIOS+UEFI hybrid written by write_iso, a tree-rich ISO, and each grown by a session written here), the same
seeded mutations (case INDEX of TARGET is always the same damage), the same readers (session.Session,
ecma119.next_writable_block and grown_head) and the same verdicts: refused with a CustomizerError, or a
correct result; anything else is a crash, a wrong result, or a case slower than 1 s. Exit status 1 if any.

Run: python3 benchmarks/fuzz_iso.py [--cases N] [--seed S] [--case TARGET:INDEX] [--work DIR]
(needs xorriso; the hybrid ISO also needs grub-mkimage, dosfstools, mtools and the GRUB binaries: without them
the cases run on the other ISOs only).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
COLLECTIONS = os.path.join(REPO, "build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "liveiso", "customizer")
if not os.path.lexists(LINK):  # as tests/conftest.py does
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(REPO, LINK)
sys.path[:0] = [COLLECTIONS, os.path.join(REPO, "tests", "unit", "plugins", "module_utils", "_iso"), os.path.join(REPO, "tests")]

import test_iso_fuzz as fuzz  # noqa: E402
import test_iso_media  # noqa: E402


def _hybrid(work):
    """{"hybrid": path} if this host can build the hybrid ISO, else {}."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._live import boot_loader
    if test_iso_media.MISSING or not os.path.isdir(boot_loader.EFI_DIR) \
            or not os.path.isfile(boot_loader.BOOT_HYBRID):
        print("no hybrid ISO (missing: %s)" % (", ".join(test_iso_media.MISSING) or "GRUB binaries"))
        return {}
    import pathlib
    return {"hybrid": test_iso_media.write_hybrid(pathlib.Path(work), "hybrid", ("bios", "uefi"))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--cases", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=fuzz.SEED)
    parser.add_argument("--case", help="replay one case, TARGET:INDEX (as printed), and show what it did")
    parser.add_argument("--work", help="keep the ISOs in a new directory below this one (default: a temporary "
                                       "directory, removed afterwards)")
    args = parser.parse_args()
    if test_iso_media.XORRISO is None:
        sys.exit("xorriso is not installed (apt-get install xorriso)")
    if args.work:
        os.makedirs(args.work, exist_ok=True)
    work = tempfile.mkdtemp(prefix="fuzz-iso-", dir=args.work)  # kept with --work
    try:
        start = time.monotonic()
        targets = fuzz.build_targets(_hybrid(work), os.path.join(work, "targets"))
        print("targets: %s (%.1f s)" % (", ".join("%s %d KiB" % (t.name, len(t.data) >> 10) for t in targets),
                                        time.monotonic() - start))
        try:
            if args.case:
                name, index = args.case.rsplit(":", 1)
                outcome = fuzz.run_case({t.name: t for t in targets}[name], int(index), args.seed)
                print(outcome)
                return 1 if outcome.failed else 0
            start = time.monotonic()
            counts, failures, slowest = fuzz.run_cases(targets, args.cases, args.seed, progress=10000)
            seconds = time.monotonic() - start
        finally:
            for target in targets:
                target.close()
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print("\n%d cases in %.1f s (%.2f ms a case), seed %d\n" % (args.cases, seconds, 1000 * seconds / args.cases,
                                                                args.seed))
    for key, count in sorted(counts.items()):
        print("%8d  %s" % (count, key))
    print("\nslowest: %s" % slowest)
    print("failed: %d" % len(failures))
    for outcome in failures[:10]:
        print("\n%s" % outcome)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
