"""A minimal writer of Excel 97-2003 workbooks (.xls: BIFF8 records in an OLE2 compound file), for the
tests of the older CFTC files: no library the project locks writes .xls, and the tests build their
spreadsheets rather than keep binaries. It writes one sheet of text and number cells and merged ranges;
that is all the published files use."""

from __future__ import annotations

import struct
from datetime import date

_END, _FREE, _FAT, _NONE = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR = 512


def _record(kind: int, data: bytes) -> bytes:
    assert len(data) <= 8224, "a BIFF8 record holds at most 8,224 bytes"
    return struct.pack("<HH", kind, len(data)) + data


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))


def _text(value: str) -> bytes:
    raw = value.encode("latin-1")
    return struct.pack("<HB", len(raw), 0) + raw


def workbook_stream(sheet: str, cells: dict[tuple[int, int], object], merges=()) -> bytes:
    """The BIFF8 ``Workbook`` stream: ``cells`` maps (row, column), 0-based, to a str, a number or a date
    (stored as Excel's serial day number, in a cell with no date format, as older files often have)."""
    strings = sorted({v for v in cells.values() if isinstance(v, str)})
    index = {s: i for i, s in enumerate(strings)}
    sst = _record(0x00FC, struct.pack("<II", len(strings), len(strings)) + b"".join(_text(s) for s in strings))
    name = sheet.encode("latin-1")

    def globals_(offset: int) -> bytes:
        return (_bof(0x0005) + _record(0x0042, struct.pack("<H", 1200))
                + _record(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(name), 0) + name)
                + sst + _record(0x000A, b""))

    head = globals_(0)
    rows = [r for r, _ in cells] or [0]
    cols = [c for _, c in cells] or [0]
    body = _bof(0x0010) + _record(0x0200, struct.pack("<IIHHH", 0, max(rows) + 1, 0, max(cols) + 1, 0))
    for (row, col), value in sorted(cells.items()):
        if isinstance(value, str):
            body += _record(0x00FD, struct.pack("<HHHI", row, col, 0, index[value]))
        elif isinstance(value, date):
            body += _record(0x0203, struct.pack("<HHHd", row, col, 0, float((value - date(1899, 12, 30)).days)))
        else:
            body += _record(0x0203, struct.pack("<HHHd", row, col, 0, float(value)))
    if merges:
        body += _record(0x00E5, struct.pack("<H", len(merges))
                        + b"".join(struct.pack("<HHHH", r0, r1, c0, c1) for (r0, c0), (r1, c1) in merges))
    body += _record(0x000A, b"")
    return globals_(len(head)) + body


def _entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1 if name else 0)
            + struct.pack("<III", _NONE, _NONE, child) + bytes(16) + struct.pack("<I", 0) + bytes(16)
            + struct.pack("<III", start, size, 0))


def xls_bytes(sheet: str, cells: dict[tuple[int, int], object], merges=()) -> bytes:
    """A whole .xls file: the compound file's header, its one FAT sector, its directory and the stream."""
    stream = workbook_stream(sheet, cells, merges)
    stream += bytes(max(0, 4096 - len(stream)))  # a stream under 4,096 bytes would belong in the mini stream
    n = -(-len(stream) // SECTOR)
    assert n + 2 <= SECTOR // 4, "one FAT sector maps at most 128 sectors"
    fat = [_FAT, _END] + [i + 1 for i in range(2, n + 1)] + [_END]
    fat += [_FREE] * (SECTOR // 4 - len(fat))
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + bytes(6) + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
              + struct.pack("<I", 0) + struct.pack("<I", _FREE) * 108)
    directory = (_entry("Root Entry", 5, 1, _END, 0) + _entry("Workbook", 2, _NONE, 2, len(stream))
                 + _entry("", 0, _NONE, 0, 0) * 2)
    return header + struct.pack(f"<{SECTOR // 4}I", *fat) + directory + stream.ljust(n * SECTOR, b"\0")
