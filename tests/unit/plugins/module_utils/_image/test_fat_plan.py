# SPDX-License-Identifier: GPL-3.0-or-later
"""fat.py: the write-back plan that turns the FAT image from `before` into `after`."""

import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._image.fat import _image_spec, plan_writeback, snapshot

D = ("dir", 0, 0)


def F(size=1, mtime=1):
    return ("file", size, mtime)


BEFORE = {
    "EFI": D,
    "EFI/BOOT": D,
    "EFI/BOOT/BOOTX64.EFI": F(100, 1),
    "EFI/BOOT/grub.cfg": F(10, 1),
    "EFI/debian": D,
    "EFI/debian/shimx64.efi": F(50, 1),
    "EFI/debian/grubx64.efi": F(60, 1),
    "EFI/debian/fonts": D,
    "EFI/debian/fonts/unicode.pf2": F(70, 1),
    "startup.nsh": F(5, 1),
}


def test_no_changes():
    assert plan_writeback(BEFORE, dict(BEFORE)) == ([], [], [])
    assert plan_writeback({}, {}) == ([], [], [])


def test_added_changed_removed():
    after = dict(BEFORE)
    after["EFI/BOOT/grub.cfg"] = F(12, 2)          # size and mtime changed
    after["EFI/BOOT/BOOTX64.EFI"] = F(100, 5)      # only mtime changed
    del after["startup.nsh"]                        # removed file
    after["EFI/BOOT/new.cfg"] = F(3, 3)             # new file in existing dir
    after["loader"] = D                             # new dirs, nested
    after["loader/entries"] = D
    after["loader/entries/a.conf"] = F(4, 4)
    after["a"] = D
    removals, new_dirs, files = plan_writeback(BEFORE, after)
    assert removals == [("file", "startup.nsh")]
    assert new_dirs == ["a", "loader", "loader/entries"]  # shallowest first
    assert files == ["EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/grub.cfg", "EFI/BOOT/new.cfg", "loader/entries/a.conf"]


def test_removed_dir_children_not_listed():
    after = {k: v for k, v in BEFORE.items() if not k.startswith("EFI/debian")}
    removals, new_dirs, files = plan_writeback(BEFORE, after)
    assert removals == [("dir", "EFI/debian")]
    assert new_dirs == [] and files == []


def test_removed_whole_tree_only_top():
    removals, new_dirs, files = plan_writeback(BEFORE, {})
    assert sorted(removals) == [("dir", "EFI"), ("file", "startup.nsh")]
    assert new_dirs == [] and files == []


def test_removals_deepest_first():
    after = dict(BEFORE)
    del after["EFI/debian/fonts/unicode.pf2"]
    del after["EFI/BOOT/grub.cfg"]
    del after["startup.nsh"]
    removals = plan_writeback(BEFORE, after)[0]
    assert removals == [("file", "EFI/debian/fonts/unicode.pf2"), ("file", "EFI/BOOT/grub.cfg"),
                        ("file", "startup.nsh")]


def test_file_in_removed_dir_with_kept_sibling_dir():
    after = dict(BEFORE)
    del after["EFI/debian/fonts"]
    del after["EFI/debian/fonts/unicode.pf2"]
    del after["EFI/debian/shimx64.efi"]
    removals = plan_writeback(BEFORE, after)[0]
    assert removals == [("dir", "EFI/debian/fonts"), ("file", "EFI/debian/shimx64.efi")]


@pytest.mark.parametrize("before,after,expected", [
    ({"x": F(1, 1)}, {"x": D, "x/y": F(1, 2)}, ([("file", "x")], ["x"], ["x/y"])),
    ({"x": D, "x/y": F(1, 2)}, {"x": F(1, 1)}, ([("dir", "x")], [], ["x"])),
], ids=["file-to-dir", "dir-to-file"])
def test_kind_change(before, after, expected):
    assert plan_writeback(before, after) == expected


def test_snapshot_and_plan_on_real_dirs(tmp_path):
    d = tmp_path / "fat"
    (d / "EFI" / "BOOT").mkdir(parents=True)
    (d / "EFI" / "BOOT" / "grub.cfg").write_text("set x=1\n")
    (d / "old").mkdir()
    (d / "old" / "f").write_text("f")
    before = snapshot(str(d))
    assert before["EFI"] == D and before["EFI/BOOT"] == D and before["old"] == D
    assert before["EFI/BOOT/grub.cfg"][:2] == ("file", 8)
    (d / "EFI" / "BOOT" / "grub.cfg").write_text("set x=22\n")
    os.unlink(str(d / "old" / "f"))
    os.rmdir(str(d / "old"))
    (d / "new" / "sub").mkdir(parents=True)
    (d / "new" / "sub" / "g").write_text("g")
    removals, new_dirs, files = plan_writeback(before, snapshot(str(d)))
    assert removals == [("dir", "old")]
    assert new_dirs == ["new", "new/sub"]
    assert files == ["EFI/BOOT/grub.cfg", "new/sub/g"]


def test_image_spec():
    assert _image_spec("/w/disk.raw", 0) == "/w/disk.raw"
    assert _image_spec("/w/disk.raw", 1048576) == "/w/disk.raw@@1048576"


def test_fat_mode_forced_and_detected(monkeypatch):
    from ansible_collections.liveiso.customizer.plugins.module_utils._image import fat
    monkeypatch.setenv("LIVEISO_FAT_MODE", "mtools")
    assert fat.fat_mode() is fat.FatMode.MTOOLS and not fat.fat_mode().mounts
    monkeypatch.setenv("LIVEISO_FAT_MODE", "native")
    assert fat.fat_mode() is fat.FatMode.NATIVE and fat.fat_mode().mounts
    monkeypatch.setenv("LIVEISO_FAT_MODE", "auto")
    monkeypatch.setattr(fat, "kernel_filesystems", lambda: {"ext4", "vfat"})
    assert fat.fat_mode() is fat.FatMode.NATIVE
    monkeypatch.setattr(fat, "kernel_filesystems", lambda: {"ext4"})
    assert fat.fat_mode() == "mtools"


def test_entry_kinds_name_their_mtools_removal():
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.fat import EntryKind
    assert (EntryKind.DIR.mtools_remove, EntryKind.FILE.mtools_remove) == ("mdeltree", "mdel")
    removals = plan_writeback({"a": D, "a/f": F(), "g": F()}, {})[0]
    assert removals == [("dir", "a"), ("file", "g")] and all(isinstance(entry[0], EntryKind) for entry in removals)


def test_snapshot_states(tmp_path):
    (tmp_path / "EFI").mkdir()
    (tmp_path / "EFI" / "x").write_bytes(b"12")
    state = snapshot(str(tmp_path))
    assert state["EFI"] == D and state["EFI/x"][:2] == ("file", 2) and state["EFI/x"].size == 2
