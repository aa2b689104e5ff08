#!/usr/bin/env python3
"""make_gguf_fixture.py: the external oracle for test_gguf.

Writes tiny.gguf with the `gguf` PyPI package's GGUFWriter (pip install gguf), then reads it
back with its GGUFReader and writes tiny.gguf.txt: one fact a line, for the C test to compare
with what our reader finds. Line formats (fields separated by one space):

    version V | alignment A | data_offset D | kv_count N | tensor_count N
    kv KEY TYPE VALUE                      scalars: integers in decimal, floats as float.hex(),
                                           bools 0/1, strings as hex bytes ('-' when empty)
    kv KEY array ELEMTYPE N V1 ... VN      elements encoded as the scalars above
    tensor NAME TYPEID NDIMS NE0 .. NEk OFFSET NBYTES SHA256
                                           OFFSET from the data section, NE in GGUF order

Run it from anywhere: python3 tests/data/make_gguf_fixture.py
"""
import hashlib
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT

HERE = os.path.dirname(os.path.abspath(__file__))
GGUF_PATH = os.path.join(HERE, 'tiny.gguf')
LIST_PATH = GGUF_PATH + '.txt'

VTYPE_NAMES = {
    VT.UINT8: 'u8', VT.INT8: 'i8', VT.UINT16: 'u16', VT.INT16: 'i16', VT.UINT32: 'u32',
    VT.INT32: 'i32', VT.FLOAT32: 'f32', VT.BOOL: 'bool', VT.STRING: 'string', VT.ARRAY: 'array',
    VT.UINT64: 'u64', VT.INT64: 'i64', VT.FLOAT64: 'f64',
}


def write_fixture():
    rng = np.random.default_rng(20240601)
    w = gguf.GGUFWriter(GGUF_PATH, arch='llama')
    w.add_custom_alignment(64)
    w.add_name('tiny fixture')
    w.add_uint8('tiny.u8', 200)
    w.add_int8('tiny.i8', -100)
    w.add_uint16('tiny.u16', 65000)
    w.add_int16('tiny.i16', -32000)
    w.add_uint32('tiny.u32', 4000000000)
    w.add_int32('tiny.i32', -7)
    w.add_uint64('tiny.u64', 2**63 + 5)
    w.add_int64('tiny.i64', -(2**40))
    w.add_float32('tiny.f32', 0.15625)
    w.add_float64('tiny.f64', 1e-300)
    w.add_bool('tiny.bool', True)
    w.add_string('tiny.utf8', 'w\u00f6rld \u2603')
    w.add_array('tokenizer.ggml.tokens', ['<s>', '</s>', 'hello', ' w\u00f6rld', '\u2581x'])
    w.add_key_value('tokenizer.ggml.scores', [0.0, -1.5, 2.25, -3.0, 0.5], VT.ARRAY, VT.FLOAT32)
    w.add_key_value('tokenizer.ggml.token_type', [3, 3, 1, 1, 6], VT.ARRAY, VT.INT32)
    w.add_key_value('tiny.flags', [True, False, True], VT.ARRAY, VT.BOOL)

    w.add_tensor('token_embd.weight', rng.standard_normal((5, 32)).astype(np.float32))
    w.add_tensor('blk.0.attn_norm.weight', rng.standard_normal(32).astype(np.float32))
    w.add_tensor('blk.0.ffn_up.weight', rng.standard_normal((3, 32)).astype(np.float16))
    q = gguf.quants.quantize(rng.standard_normal((2, 2, 64)).astype(np.float32), QT.Q8_0)
    w.add_tensor('blk.0.ffn_down.weight', q, raw_dtype=QT.Q8_0)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def scalar(vtype, v):
    if vtype in (VT.FLOAT32, VT.FLOAT64):
        return float(v).hex()
    if vtype == VT.BOOL:
        return '1' if v else '0'
    if vtype == VT.STRING:
        b = v.encode('utf-8')
        return b.hex() if b else '-'
    return str(int(v))


def list_fixture():
    r = gguf.GGUFReader(GGUF_PATH)
    fields = [f for f in r.fields.values() if not f.name.startswith('GGUF.')]
    lines = [
        f'version {r.fields["GGUF.version"].contents()}',
        f'alignment {r.alignment}',
        f'data_offset {r.data_offset}',
        f'kv_count {len(fields)}',
        f'tensor_count {len(r.tensors)}',
    ]
    for f in fields:
        t = f.types[0]
        if t == VT.ARRAY:
            et = f.types[-1]
            vals = f.contents()
            enc = ' '.join(scalar(et, v) for v in vals)
            lines.append(f'kv {f.name} array {VTYPE_NAMES[et]} {len(vals)} {enc}')
        else:
            lines.append(f'kv {f.name} {VTYPE_NAMES[t]} {scalar(t, f.contents())}')
    for t in r.tensors:
        raw = bytes(r.data[t.data_offset:t.data_offset + t.n_bytes])
        ne = ' '.join(str(int(d)) for d in t.shape)
        lines.append(f'tensor {t.name} {int(t.tensor_type)} {len(t.shape)} {ne} '
                     f'{t.data_offset - r.data_offset} {t.n_bytes} '
                     f'{hashlib.sha256(raw).hexdigest()}')
    with open(LIST_PATH, 'w', encoding='ascii') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    write_fixture()
    list_fixture()
