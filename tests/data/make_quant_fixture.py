#!/usr/bin/env python3
"""make_quant_fixture.py: writes quant_fixture.bin, the external oracle for tests/test_quant.c.

Every byte of expected output comes from the gguf package (pip install gguf numpy), which we did
not write: its quantizer where it has one, its dequantizer always. Run from anywhere:

    python3 tests/data/make_quant_fixture.py [out.bin]

File layout, little-endian:
    magic "FSKQFIX1", u32 section count, then per section:
    u32 type id (GGML), u32 rows, u32 cols, u32 flags
        flags bit 0: the package quantized the floats that follow (else the blocks are random)
    f32 src[rows*cols]         only when flags bit 0
    u8  data[rows*row_bytes]   the packed blocks
    f32 deq[rows*cols]         the package's dequantization of data
"""
import struct
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

ROWS = 4
COLS_32 = 256   # 8 blocks of 32 per row
COLS_K = 512    # 2 super-blocks per row


def source_rows(rng, cols):
    """Rows meant to reach the corners of the quantizers: plain, tiny, a zero block among large
    values, and small integers (where max - min and the codes land on exact values)."""
    rows = [
        rng.standard_normal(cols),
        rng.uniform(-1.0, 1.0, cols) * 1e-3,
        rng.standard_normal(cols) * 100.0,
        rng.integers(-20, 21, cols).astype(np.float64),
    ]
    rows[2][:32] = 0.0
    rows[3][32:64] += 40.0  # a block that is all positive: its min is not near zero
    return np.array(rows, dtype=np.float32)


def special_rows(rng, cols):
    """Float-type rows with the values where conversions go wrong: zeros of both signs,
    subnormals of both formats, overflow, infinities, a NaN and exact rounding ties."""
    rows = source_rows(rng, cols)
    special = np.array([0.0, -0.0, 1e-40, -3e-39, 6e-8, 2e-5, 65504.0, 65520.0, 1e5,
                        3.4e38, np.inf, -np.inf, np.nan, 1.0 + 2.0**-8, 1.0 + 3 * 2.0**-8,
                        1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11], dtype=np.float32)
    rows[0][:len(special)] = special
    return rows


def random_k_blocks(rng, qtype, rows, cols):
    """Random valid blocks of a format the package cannot quantize: random bytes, with the
    half scales replaced by small finite values so every decoded float is finite."""
    block, size = GGML_QUANT_SIZES[qtype]
    nblocks = rows * cols // block
    data = rng.integers(0, 256, (nblocks, size), dtype=np.uint8)
    if qtype == T.Q6_K:
        scale_offsets = [size - 2]            # d sits at the end of a Q6_K block
    else:
        scale_offsets = [0, 2]                # d, dmin open Q4_K and Q5_K blocks
    for off in scale_offsets:
        halves = rng.uniform(1e-3, 1e-1, nblocks).astype(np.float16)
        data[:, off:off + 2] = halves.view(np.uint8).reshape(nblocks, 2)
    return data.reshape(rows, -1)


def section(rng, qtype):
    cols = COLS_K if GGML_QUANT_SIZES[qtype][0] == 256 else COLS_32
    src = special_rows(rng, cols) if qtype in (T.F16, T.BF16) else source_rows(rng, cols)
    try:
        with np.errstate(over="ignore"):  # F16's overflow to infinity is one of the cases
            data = quants.quantize(src, qtype)
        flags = 1
    except NotImplementedError:
        data = random_k_blocks(rng, qtype, ROWS, cols)
        src = None
        flags = 0
    data = np.ascontiguousarray(data).view(np.uint8).reshape(ROWS, -1)
    deq = quants.dequantize(data, qtype).astype(np.float32, copy=False)
    out = [struct.pack("<4I", int(qtype), ROWS, cols, flags)]
    if src is not None:
        out.append(src.astype("<f4").tobytes())
    out.append(data.tobytes())
    out.append(deq.astype("<f4").tobytes())
    return b"".join(out), flags


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("quant_fixture.bin")
    rng = np.random.default_rng(20240405)
    types = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K, T.BF16, T.F16]
    parts = []
    for t in types:
        blob, flags = section(rng, t)
        parts.append(blob)
        print(f"{t.name}: {'quantized by gguf' if flags else 'random blocks'}", file=sys.stderr)
    blob = b"FSKQFIX1" + struct.pack("<I", len(parts)) + b"".join(parts)
    out.write_bytes(blob)
    print(f"wrote {out} ({len(blob)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
