"""Just enough PNG reading for the browser tests to look at a screenshot's pixels (no Pillow)."""

from __future__ import annotations

import struct
import zlib


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def png_rows(png: bytes) -> list[list[tuple[int, ...]]]:
    """The pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes), by row."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, data, header = 8, b"", b""
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind, body = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        header = body if kind == b"IHDR" else header
        data += body if kind == b"IDAT" else b""
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and not interlace, "an unexpected PNG kind"
    size = 3 if colour == 2 else 4
    raw, stride, previous = zlib.decompress(data), width * size, bytearray(width * size)
    rows = []
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up, corner = previous[i], previous[i - size] if i >= size else 0
            predicted = (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]
            line[i] = (line[i] + predicted) & 0xFF
        rows.append([tuple(line[x : x + size]) for x in range(0, stride, size)])
        previous = line
    return rows


def darkest(png: bytes) -> int:
    """The lowest channel value in the picture: 255 for pure white."""
    return min(min(pixel[:3]) for row in png_rows(png) for pixel in row)
