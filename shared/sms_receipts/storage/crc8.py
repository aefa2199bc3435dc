"""PlainBuffer's CRC-8, as the `tablestore` SDK computes it (`PlainBufferCrc8`), without its loop per byte.

The plain (non-reflected) CRC with polynomial p = x^8 + x^2 + x + 1 and no final xor:
crc(c, M) = (M(x) + c(x) * x^(8(n-1))) * x^8 mod p, with M(x) the bytes read as one big-endian number.
- Short inputs: `TWO_BYTE_TABLE` steps two bytes per loop iteration (words from `struct`).
- Long inputs: x^127 = 1 (mod p), so the big-endian integer of the bytes can be folded onto itself
  in 127 * 2^k-bit halves with C-speed big-integer xors until 127 bits are left, whose CRC is 8 steps
  of the two-byte table, so a long value costs a few big-integer operations instead of a loop per byte.

The PlainBuffer writer (`storage.plainbuffer`) uses it; the emulator checks checksums with the SDK's
own `PlainBufferCrc8`, so the two sides of the wire never share this code.
"""

from __future__ import annotations

import struct

from tablestore.plainbuffer.plain_buffer_crc8 import CRC8_TABLE

__all__ = ["TABLE", "TWO_BYTE_TABLE", "WORDS", "crc8"]

TABLE = bytes(CRC8_TABLE)  # crc' = TABLE[crc ^ byte]


def _two_byte_table() -> bytes:
    """TWO_BYTE_TABLE[crc ^ (b0 | b1 << 8)] = TABLE[TABLE[crc ^ b0] ^ b1]: two bytes per lookup.

    Row `b1` holds TABLE[TABLE[b0] ^ b1] for every b0: TABLE xored with `b1` in one big-integer
    operation, then mapped through TABLE with `bytes.translate`: 256 C-speed operations build the
    64 KB table at import.
    """
    base = int.from_bytes(TABLE, "little")
    return b"".join(
        (base ^ int.from_bytes(bytes((b1,)) * 256, "little")).to_bytes(256, "little").translate(TABLE)
        for b1 in range(256)
    )


TWO_BYTE_TABLE = _two_byte_table()
WORDS = tuple(struct.Struct(f"<{k}H").unpack_from for k in range(16))  # WORDS[k]: k little-endian 16-bit words
_FOLD_MIN_BYTES = 32  # from here on the fold beats the two-byte loop
_FOLD_STEPS = tuple((127 << k, (1 << (127 << k)) - 1) for k in range(9))  # x^(127 * 2^k) = 1 (mod p)
_FOLD_CHUNK_BYTES = 127 * 64  # 127 * 2^9 bits: longer inputs are first folded in slices of this size


def crc8(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """The SDK's CRC-8 (`PlainBufferCrc8.crc_bytes`) of `data`, continuing from `crc`."""
    n = len(data)
    table2 = TWO_BYTE_TABLE
    if n < _FOLD_MIN_BYTES:
        if n & 1:
            crc = TABLE[crc ^ data[0]]
            for word in WORDS[n >> 1](data, 1):
                crc = table2[crc ^ word]
            return crc
        for word in WORDS[n >> 1](data):
            crc = table2[crc ^ word]
        return crc
    if n <= _FOLD_CHUNK_BYTES:
        value = int.from_bytes(data, "big") ^ (crc << (8 * n - 8))
    else:  # fold slices aligned on the end; the leftmost one is partial and takes the running crc
        first = n % _FOLD_CHUNK_BYTES or _FOLD_CHUNK_BYTES
        value = int.from_bytes(data[:first], "big") ^ (crc << (8 * first - 8))
        for start in range(first, n, _FOLD_CHUNK_BYTES):
            value ^= int.from_bytes(data[start : start + _FOLD_CHUNK_BYTES], "big")
    bits = value.bit_length()
    if bits > 127:
        k = ((bits + 253) // 254 - 1).bit_length()  # smallest k with 254 * 2^k >= bits
        while k >= 0:
            size, mask = _FOLD_STEPS[k]
            value = (value & mask) ^ (value >> size)
            k -= 1
    crc = 0
    for word in WORDS[8](value.to_bytes(16, "big")):
        crc = table2[crc ^ word]
    return crc
