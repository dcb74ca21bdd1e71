#!/usr/bin/env python3
"""Writes add_constant_n.onnx: Y = (X + C) * C, X and Y of symbolic shape [N], C a Constant node
of 32 floats (C[i] = 0.25 i) in raw_data. For veil-serve's memory plan (tests/e2e/test_serve_plan.sh):
unplanned until input_shapes fixes N; the Constant's value is borrowed from the locked plaintext."""
import struct
import sys


def varint(v):
    out = b""
    while True:
        b, v = v & 0x7F, v >> 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def ld(n, b):
    return varint((n << 3) | 2) + varint(len(b)) + b


def vi(n, v):
    return varint(n << 3) + varint(v)


def s(n, t):
    return ld(n, t.encode())


N = 32
raw = b"".join(struct.pack("<f", 0.25 * i) for i in range(N))
tensor = vi(1, N) + vi(2, 1) + s(8, "C") + ld(9, raw)  # dims, FLOAT, name, raw_data
const = s(2, "C") + s(3, "c") + s(4, "Constant") + ld(5, s(1, "value") + ld(5, tensor) + vi(20, 4))
add = s(1, "X") + s(1, "C") + s(2, "T") + s(3, "add") + s(4, "Add")
mul = s(1, "T") + s(1, "C") + s(2, "Y") + s(3, "mul") + s(4, "Mul")


def value_info(name):
    ttype = vi(1, 1) + ld(2, ld(1, s(2, "N")))  # FLOAT, shape [N]
    return s(1, name) + ld(2, ld(1, ttype))


graph = ld(1, const) + ld(1, add) + ld(1, mul) + s(2, "add_constant_n")
graph += ld(11, value_info("X")) + ld(12, value_info("Y"))
model = vi(1, 7) + s(2, "veil-tests") + ld(7, graph) + ld(8, s(1, "") + vi(2, 13))
with open(sys.argv[1] if len(sys.argv) > 1 else "add_constant_n.onnx", "wb") as f:
    f.write(model)
