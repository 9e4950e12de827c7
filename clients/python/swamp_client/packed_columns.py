"""The packed columns of the ``metricColumns`` subscription (``packedSteps``, ``packedValues``, …).

The same format as schema/packed-columns.ts on the server: integer columns are base64 of unsigned
LEB128 varints, each run of k entries differing from their predecessor (0 before the first) by the
same d written as 2·zigzag(d) + (k > 1), then k when k > 1; float columns are base64 of
little-endian doubles, the stored numbers exactly.
"""

import base64
import struct
from typing import List


def unpack_integers(packed: str) -> List[int]:
    data = base64.b64decode(packed)
    column: List[int] = []
    previous = 0
    at = 0

    def read() -> int:
        nonlocal at
        value = 0
        shift = 0
        while True:
            if at >= len(data):
                raise ValueError("packed integers end inside a varint")
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    while at < len(data):
        token = read()
        zigzag = token >> 1
        delta = -((zigzag + 1) >> 1) if zigzag & 1 else zigzag >> 1
        run = read() if token & 1 else 1
        for _ in range(run):
            previous += delta
            column.append(previous)
    return column


def unpack_floats(packed: str) -> List[float]:
    data = base64.b64decode(packed)
    if len(data) % 8:
        raise ValueError(f"packed floats are {len(data)} bytes, not a multiple of 8")
    return list(struct.unpack(f"<{len(data) // 8}d", data))
