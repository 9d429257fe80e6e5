# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ISO 9660 (ECMA-119) byte layout: blocks, the System Area, volume descriptors of a grown ISO, and the head
that a grown ISO rewrites (private to this collection).

Every field of a volume descriptor, directory record, path table record or System Use entry that this
collection reads or writes is named once, in the field table below (:class:`VolumeDescriptor`,
:class:`BootRecord`, :class:`DirectoryRecord`, :class:`PathTableRecord`, :class:`SystemUseEntry`,
:class:`RockRidge`): a :class:`Field` is an offset, a length and a :class:`Kind` (how its bytes encode a value),
with :meth:`Field.number` / :meth:`Field.raw` to read and :meth:`Field.encode` / :meth:`Field.write` to write.
The readers (:mod:`.session`, :func:`next_writable_block`, :func:`grown_head`) and the writer of the new session
use nothing else to reach into those structures. Readers read untrusted bytes: a field that lies past the end of
what was read raises :class:`ImageError`, never an ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import Enum
from typing import Iterable, Iterator, Optional, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError

Buffer = Union[bytes, bytearray, memoryview]
Value = Union[int, bytes]

SYSTEM_AREA_BYTES = 32768


BLOCK = 2048


HEAD_BYTES = 65536  # System Area (16 blocks) + the volume descriptor area a grown ISO rewrites (16 blocks)
DESCRIPTOR_BLOCK = SYSTEM_AREA_BYTES // BLOCK  # 16: the volume descriptor set starts here

STANDARD_ID = b"CD001"
VD_BOOT, VD_PRIMARY, VD_SUPPLEMENTARY, VD_TERMINATOR = 0, 1, 2, 255


def image_error(message: str, hint: Optional[str] = None) -> ImageError:
    """An :class:`ImageError` (a typed constructor: ``_core.errors`` is not annotated yet)."""
    return ImageError(message, hint)


# ------------------------------------------------------------------------------------------ the field table

class Kind(Enum):
    """How a field's bytes encode its value; the value of each member is the ECMA-119 section."""

    U8 = "7.1.1"
    """An 8-bit unsigned number."""
    LE16 = "7.2.1"
    """A 16-bit number, least significant byte first (path table L)."""
    BE16 = "7.2.2"
    """A 16-bit number, most significant byte first (path table M)."""
    BOTH16 = "7.2.3"
    """A 16-bit number twice: little-endian, then big-endian (read from its little-endian half)."""
    LE32 = "7.3.1"
    """A 32-bit number, least significant byte first."""
    BE32 = "7.3.2"
    """A 32-bit number, most significant byte first."""
    BOTH32 = "7.3.3"
    """A 32-bit number twice: little-endian, then big-endian (read from its little-endian half)."""
    STR = "7.4"
    """Characters, padded on the right with spaces (``b" "``; a Joliet caller passes UCS-2 spaces itself)."""
    DATE = "8.4.26.1"
    """A volume descriptor date: 16 ASCII digits (YYYYMMDDhhmmsscc) and an offset from GMT (17 bytes)."""
    RECORD_DATE = "9.1.5"
    """A directory record date: years since 1900, month, day, hour, minute, second, offset from GMT."""
    BYTES = "bytes"
    """Bytes as they are (an identifier, or another structure such as the root directory record)."""


_FORMATS = {Kind.U8: ("<B",), Kind.LE16: ("<H",), Kind.BE16: (">H",), Kind.BOTH16: ("<H", ">H"),
            Kind.LE32: ("<I",), Kind.BE32: (">I",), Kind.BOTH32: ("<I", ">I")}


@dataclass(frozen=True)
class Field:
    """``length`` bytes at ``offset`` of a structure, encoded as ``kind``. Every method takes ``at``: where the
    structure starts in ``data`` (a directory record inside a directory's extent, a descriptor in the head)."""

    offset: int
    length: int
    kind: Kind
    end: int = dataclass_field(init=False, repr=False, compare=False)
    """The offset of the first byte after the field."""
    # a number kind's codecs, made once (the reader and the writer use them for every record)
    _codecs: Tuple[struct.Struct, ...] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        codecs = tuple(struct.Struct(fmt) for fmt in _FORMATS.get(self.kind, ()))
        if codecs and sum(codec.size for codec in codecs) != self.length:
            raise ValueError("a %s field of %d bytes" % (self.kind.name, self.length))
        object.__setattr__(self, "end", self.offset + self.length)
        object.__setattr__(self, "_codecs", codecs)

    def _start(self, data: Buffer, at: int) -> int:
        if at < 0 or at + self.end > len(data):
            raise self._truncated(data, at)
        return at + self.offset

    def _truncated(self, data: Buffer, at: int) -> ImageError:
        return image_error("a truncated ISO 9660 structure: %d bytes where a field needs %d"
                           % (max(len(data) - at, 0), self.end), "Check that the file is a complete ISO image.")

    def raw(self, data: Buffer, at: int = 0) -> bytes:
        """The field's bytes."""
        start = self._start(data, at)
        return bytes(data[start:start + self.length])

    def number(self, data: Buffer, at: int = 0) -> int:
        """The field's value, for the number kinds (a both-endian field: its little-endian half)."""
        if at < 0 or at + self.end > len(data):  # _start, inlined: the reader calls this for every field it reads
            raise self._truncated(data, at)
        if not self._codecs:
            raise ValueError("a %s field holds bytes, not a number" % self.kind.name)
        value: int = self._codecs[0].unpack_from(data, at + self.offset)[0]
        return value

    def encode(self, value: Value) -> bytes:
        """The field's bytes for ``value``: a number for the number kinds, else bytes (a :attr:`Kind.STR`
        padded with spaces). ``ValueError`` if it does not fit."""
        codecs = self._codecs
        if isinstance(value, int):
            try:
                if len(codecs) == 2:
                    return codecs[0].pack(value) + codecs[1].pack(value)
                return codecs[0].pack(value)
            except struct.error:
                raise ValueError("%d does not fit a %s field" % (value, self.kind.name)) from None
            except IndexError:
                raise ValueError("a %s field holds bytes, not a number" % self.kind.name) from None
        if codecs:
            raise ValueError("a %s field holds a number, not bytes" % self.kind.name)
        if self.kind is Kind.STR:
            value = value.ljust(self.length, b" ")
        if len(value) != self.length:
            raise ValueError("%d bytes for a field of %d" % (len(value), self.length))
        return value

    def write(self, data: bytearray, value: Value, at: int = 0) -> None:
        """Set the field in ``data`` (which keeps its length)."""
        start = self._start(data, at)
        data[start:start + self.length] = self.encode(value)


def pack(size: int, values: Iterable[Tuple[Field, Value]]) -> bytearray:
    """A structure of ``size`` zero bytes with ``values`` [(field, value)] written into it."""
    data = bytearray(size)
    for field, value in values:
        if field.end > size:
            raise ValueError("a field to %d in a structure of %d bytes" % (field.end, size))
        data[field.offset:field.end] = field.encode(value)
    return data


class VolumeDescriptor:
    """A primary (8.4) or supplementary (8.5, Joliet) volume descriptor; :attr:`TYPE`, :attr:`STANDARD_ID` and
    :attr:`VERSION` begin every volume descriptor (8.1)."""

    TYPE = Field(0, 1, Kind.U8)  # VD_BOOT, VD_PRIMARY, VD_SUPPLEMENTARY, VD_TERMINATOR
    STANDARD_ID = Field(1, 5, Kind.BYTES)  # b"CD001"
    VERSION = Field(6, 1, Kind.U8)
    FLAGS = Field(7, 1, Kind.U8)  # supplementary only
    SYSTEM_ID = Field(8, 32, Kind.STR)
    VOLUME_ID = Field(40, 32, Kind.STR)
    VOLUME_SPACE_SIZE = Field(80, 8, Kind.BOTH32)  # blocks, counted from the start of the ISO
    ESCAPE_SEQUENCES = Field(88, 32, Kind.BYTES)  # supplementary only: Joliet's start %/@, %/C or %/E
    VOLUME_SET_SIZE = Field(120, 4, Kind.BOTH16)
    VOLUME_SEQUENCE_NUMBER = Field(124, 4, Kind.BOTH16)
    LOGICAL_BLOCK_SIZE = Field(128, 4, Kind.BOTH16)
    PATH_TABLE_SIZE = Field(132, 8, Kind.BOTH32)  # bytes
    L_PATH_TABLE = Field(140, 4, Kind.LE32)  # block
    OPTIONAL_L_PATH_TABLE = Field(144, 4, Kind.LE32)
    M_PATH_TABLE = Field(148, 4, Kind.BE32)
    OPTIONAL_M_PATH_TABLE = Field(152, 4, Kind.BE32)
    ROOT_RECORD = Field(156, 34, Kind.BYTES)  # a DirectoryRecord
    VOLUME_SET_ID = Field(190, 128, Kind.STR)
    PUBLISHER_ID = Field(318, 128, Kind.STR)
    DATA_PREPARER_ID = Field(446, 128, Kind.STR)
    APPLICATION_ID = Field(574, 128, Kind.STR)
    COPYRIGHT_FILE_ID = Field(702, 37, Kind.STR)
    ABSTRACT_FILE_ID = Field(739, 37, Kind.STR)
    BIBLIOGRAPHIC_FILE_ID = Field(776, 37, Kind.STR)
    CREATION_DATE = Field(813, 17, Kind.DATE)
    MODIFICATION_DATE = Field(830, 17, Kind.DATE)
    EXPIRATION_DATE = Field(847, 17, Kind.DATE)
    EFFECTIVE_DATE = Field(864, 17, Kind.DATE)
    FILE_STRUCTURE_VERSION = Field(881, 1, Kind.U8)  # 1 (2: ISO 9660:1999)
    APPLICATION_USE = Field(883, 512, Kind.BYTES)


class BootRecord:
    """The boot record volume descriptor (8.2) as El Torito (1.0, 2.0) fills it."""

    BOOT_SYSTEM_ID = Field(7, 32, Kind.STR)  # b"EL TORITO SPECIFICATION", zero padded
    BOOT_CATALOG = Field(71, 4, Kind.LE32)  # block of the boot catalog


class DirectoryRecord:
    """A directory record (9.1): :data:`HEADER` fixed bytes, the identifier (:func:`record_identifier`), a
    padding byte if its length is even, then the System Use area (:func:`record_system_use`)."""

    LENGTH = Field(0, 1, Kind.U8)
    EXTENDED_ATTRIBUTE_LENGTH = Field(1, 1, Kind.U8)
    EXTENT = Field(2, 8, Kind.BOTH32)  # block
    DATA_LENGTH = Field(10, 8, Kind.BOTH32)  # bytes
    RECORDING_DATE = Field(18, 7, Kind.RECORD_DATE)
    FLAGS = Field(25, 1, Kind.U8)
    FILE_UNIT_SIZE = Field(26, 1, Kind.U8)
    INTERLEAVE_GAP = Field(27, 1, Kind.U8)
    VOLUME_SEQUENCE_NUMBER = Field(28, 4, Kind.BOTH16)
    IDENTIFIER_LENGTH = Field(32, 1, Kind.U8)
    HEADER = 33  # the identifier starts here
    MIN_LENGTH = 34  # a one-byte identifier, no System Use
    MAX_LENGTH = 255
    FLAG_DIRECTORY = 0x02
    FLAG_MULTI_EXTENT = 0x80
    DOT, DOTDOT = b"\x00", b"\x01"  # the identifiers of "." and ".."


class PathTableRecord:
    """A path table record (9.4): :data:`HEADER` fixed bytes, the identifier, a padding byte if its length is
    odd. The L table holds numbers little-endian, the M table big-endian."""

    IDENTIFIER_LENGTH = Field(0, 1, Kind.U8)
    EXTENDED_ATTRIBUTE_LENGTH = Field(1, 1, Kind.U8)
    L_EXTENT = Field(2, 4, Kind.LE32)
    M_EXTENT = Field(2, 4, Kind.BE32)
    L_PARENT = Field(6, 2, Kind.LE16)  # the parent's number in the table (the root's is 1, its own parent)
    M_PARENT = Field(6, 2, Kind.BE16)
    HEADER = 8
    MAX_PARENT = 0xFFFF


class SystemUseEntry:
    """The header of a System Use Sharing Protocol entry (SUSP 1.12, 4.1) in a record's System Use area."""

    SIGNATURE = Field(0, 2, Kind.BYTES)
    LENGTH = Field(2, 1, Kind.U8)  # of the whole entry
    VERSION = Field(3, 1, Kind.U8)
    HEADER = 4


class RockRidge:
    """The Rock Ridge (RRIP 1.10, as xorriso writes them) entries this collection writes or reads."""

    PX_MODE = Field(4, 8, Kind.BOTH32)
    PX_LINKS = Field(12, 8, Kind.BOTH32)
    PX_UID = Field(20, 8, Kind.BOTH32)
    PX_GID = Field(28, 8, Kind.BOTH32)
    PX_LENGTH = 36
    TF_FLAGS = Field(4, 1, Kind.U8)  # which stamps follow (7 bytes each, as in a directory record)
    TF_STAMPS = 5
    TF_MODIFY_ACCESS_ATTRIBUTES = 0x0E
    NM_FLAGS = Field(4, 1, Kind.U8)  # 0: the name is all here
    NM_NAME = 5  # the name follows, to the entry's end


def record_identifier(record: Buffer, at: int = 0) -> bytes:
    """The identifier of the directory record at ``at``."""
    start = at + DirectoryRecord.HEADER
    end = start + DirectoryRecord.IDENTIFIER_LENGTH.number(record, at)
    if end > len(record):
        raise image_error("a directory record's identifier runs past its end")
    return bytes(record[start:end])


def record_system_use(record: Buffer) -> bytes:
    """The System Use area of a directory record (where Rock Ridge entries live): after the identifier and its
    padding byte, to the end of ``record``."""
    length = DirectoryRecord.IDENTIFIER_LENGTH.number(record)
    return bytes(record[DirectoryRecord.HEADER + length + (0 if length % 2 else 1):])


def system_use_entries(area: bytes) -> Iterator[Tuple[bytes, bytes]]:
    """(signature, whole entry) of the SUSP entries in ``area``, up to the first that does not fit."""
    position = 0
    while position + SystemUseEntry.HEADER <= len(area):
        length = SystemUseEntry.LENGTH.number(area, position)
        if length < SystemUseEntry.HEADER or position + length > len(area):
            break
        yield SystemUseEntry.SIGNATURE.raw(area, position), area[position:position + length]
        position += length


def system_use_entry(signature: bytes, size: int, values: Iterable[Tuple[Field, Value]] = (),
                     tail: bytes = b"") -> bytes:
    """A SUSP entry (version 1): ``size`` bytes of header and ``values``, then ``tail``."""
    header: Tuple[Tuple[Field, Value], ...] = (
        (SystemUseEntry.SIGNATURE, signature), (SystemUseEntry.LENGTH, size + len(tail)), (SystemUseEntry.VERSION, 1))
    return bytes(pack(size, header + tuple(values))) + tail


def directory_record(ident: bytes, extent: int, size: int, date: bytes, flags: int, system_use: bytes) -> bytes:
    """A directory record (volume sequence number 1, no extended attributes), padded to an even length.
    ``ValueError`` if it is longer than 255 bytes."""
    pad = b"" if len(ident) % 2 else b"\x00"
    length = DirectoryRecord.HEADER + len(ident) + len(pad) + len(system_use)
    length += length % 2
    if length > DirectoryRecord.MAX_LENGTH:
        raise ValueError("a directory record of %d bytes" % length)
    record = pack(DirectoryRecord.HEADER, (
        (DirectoryRecord.LENGTH, length), (DirectoryRecord.EXTENT, extent), (DirectoryRecord.DATA_LENGTH, size),
        (DirectoryRecord.RECORDING_DATE, date), (DirectoryRecord.FLAGS, flags),
        (DirectoryRecord.VOLUME_SEQUENCE_NUMBER, 1), (DirectoryRecord.IDENTIFIER_LENGTH, len(ident))))
    record += ident + pad + system_use
    return bytes(record.ljust(length, b"\x00"))


def with_address(record: bytes, extent: int, size: int) -> bytes:
    """``record`` (a directory record) with another extent and data length."""
    data = bytearray(record)
    if len(data) < DirectoryRecord.MIN_LENGTH:
        raise image_error("a directory record of %d bytes" % len(data))
    for field, value in ((DirectoryRecord.EXTENT, extent), (DirectoryRecord.DATA_LENGTH, size)):
        data[field.offset:field.end] = field.encode(value)
    return bytes(data)


def path_table_record(ident: bytes, extent: int, parent: int, big_endian: bool) -> bytes:
    """A path table record of the M table (``big_endian``) or the L table."""
    extent_field = PathTableRecord.M_EXTENT if big_endian else PathTableRecord.L_EXTENT
    parent_field = PathTableRecord.M_PARENT if big_endian else PathTableRecord.L_PARENT
    head = pack(PathTableRecord.HEADER, ((PathTableRecord.IDENTIFIER_LENGTH, len(ident)), (extent_field, extent),
                                         (parent_field, parent)))
    return bytes(head) + ident + (b"\x00" if len(ident) % 2 else b"")


def record_date(seconds: int) -> bytes:
    """A :attr:`Kind.RECORD_DATE` (GMT) for ``seconds`` since 1970; ``ValueError`` outside 1900-2155."""
    t = _gmtime(seconds, "a directory record")
    if not 0 <= t.tm_year - 1900 <= 255:
        raise ValueError("a date a directory record cannot hold (%d)" % t.tm_year)
    return bytes((t.tm_year - 1900, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0))


def volume_date(seconds: int) -> bytes:
    """A :attr:`Kind.DATE` (GMT, no hundredths) for ``seconds`` since 1970; ``ValueError`` outside 1-9999."""
    t = _gmtime(seconds, "a volume descriptor")
    if not 1 <= t.tm_year <= 9999:
        raise ValueError("a date a volume descriptor cannot hold (%d)" % t.tm_year)
    digits = "%04d%02d%02d%02d%02d%02d00" % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    return digits.encode("ascii") + b"\x00"


def _gmtime(seconds: int, what: str) -> time.struct_time:
    try:
        return time.gmtime(seconds)
    except (OverflowError, OSError, ValueError):
        raise ValueError("a date %s cannot hold (%r seconds since 1970)" % (what, seconds)) from None


def is_descriptor(block: Buffer) -> bool:
    """Whether ``block`` starts as every volume descriptor does."""
    return len(block) >= BLOCK and VolumeDescriptor.STANDARD_ID.raw(block) == STANDARD_ID


# -------------------------------------------------------------------------------------------- grown ISOs

def _descriptor(block: Buffer, iso: str) -> int:
    if not is_descriptor(block):
        raise image_error("%s has no ISO 9660 volume descriptor where one belongs." % iso,
                          "Check that the file is a complete ISO image.")
    return VolumeDescriptor.TYPE.number(block)


def next_writable_block(iso: str) -> int:
    """The block where xorriso appends the next session to ``iso``: the end of its newest session (the
    volume size in the primary volume descriptor), rounded up to 32 blocks, as libisoburn does when it grows
    an ISO image in a file."""
    with open(iso, "rb") as handle:
        handle.seek(DESCRIPTOR_BLOCK * BLOCK)
        pvd = handle.read(BLOCK)
    if len(pvd) < BLOCK or _descriptor(pvd, iso) != VD_PRIMARY:
        raise image_error("%s has no ISO 9660 primary volume descriptor." % iso,
                          "Check that the file is a complete ISO image.")
    return append_block(VolumeDescriptor.VOLUME_SPACE_SIZE.number(pvd))


def append_block(volume_blocks: int) -> int:
    """Where libisoburn appends a session to an ISO of ``volume_blocks``: rounded up to 32 blocks."""
    return -(-volume_blocks // 32) * 32


def grown_head(input_head: bytes, session: str, grow_at: int) -> bytes:
    """The first 64 KiB of an ISO grown by ``session`` (written with ``grow_at``), from ``input_head`` (the
    input's first 64 KiB): the input's System Area, the session's volume descriptors up to their terminator
    with the volume size counted from the start of the ISO, then the input's bytes again. That is what
    libisoburn writes to the start of an ISO it grows in place (tests compare the two byte for byte).
    """
    if len(input_head) != HEAD_BYTES:
        raise image_error("the ISO to grow is shorter than %d bytes." % HEAD_BYTES)
    with open(session, "rb") as handle:
        handle.seek(SYSTEM_AREA_BYTES)
        descriptors = bytearray(handle.read(HEAD_BYTES - SYSTEM_AREA_BYTES))
    if len(descriptors) != HEAD_BYTES - SYSTEM_AREA_BYTES:
        raise image_error("xorriso wrote a session of %s without its volume descriptors." % session)
    for offset in range(0, len(descriptors), BLOCK):
        kind = _descriptor(descriptors[offset:offset + BLOCK], session)
        if kind in (VD_PRIMARY, VD_SUPPLEMENTARY):
            size = VolumeDescriptor.VOLUME_SPACE_SIZE
            try:
                size.write(descriptors, grow_at + size.number(descriptors, offset), offset)
            except ValueError:
                raise image_error("xorriso wrote a session of %s larger than an ISO 9660 volume can be."
                                  % session) from None
        elif kind == VD_TERMINATOR:
            end = SYSTEM_AREA_BYTES + offset + BLOCK
            return b"".join((bytes(input_head[:SYSTEM_AREA_BYTES]), bytes(descriptors[:offset + BLOCK]),
                             bytes(input_head[end:])))
    raise image_error("xorriso wrote a session of %s without a volume descriptor terminator." % session)
