#!/usr/bin/env python3
"""gen_big_onnx.py OUT SIZE_MIB: a synthetic ONNX model, Y = Add(X, W), whose one initializer W
(float32, SIZE_MIB MiB of random values, as raw_data) makes up the file: for cold-start
benchmarks of large sealed models. Writes the protobuf by hand (no onnx package needed)."""
import os
import sys


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def s(num, text):
    return field(num, 2, text.encode())


def value_info(name, n):
    dim = field(1, 2, field(1, 0, n))  # TensorShapeProto.dim { dim_value }
    tensor_type = field(1, 0, 1) + field(2, 2, dim)  # elem_type FLOAT, shape
    return s(1, name) + field(2, 2, field(1, 2, tensor_type))


def main():
    out, size_mib = sys.argv[1], int(sys.argv[2])
    n = size_mib * 1048576 // 4
    node = s(1, "X") + s(1, "W") + s(2, "Y") + s(3, "add") + s(4, "Add")
    init_head = field(1, 0, n) + field(2, 0, 1) + s(8, "W")  # dims, data_type FLOAT, name
    raw_key = varint((9 << 3) | 2) + varint(n * 4)
    graph_rest = s(2, "big") + field(11, 2, value_info("X", n)) + field(12, 2, value_info("Y", n))
    init_len = len(init_head) + len(raw_key) + n * 4
    init_field_head = varint((5 << 3) | 2) + varint(init_len)
    node_field = field(1, 2, node)
    graph_len = len(node_field) + len(init_field_head) + init_len + len(graph_rest)
    opset = field(8, 2, s(1, "") + field(2, 0, 13))
    with open(out, "wb") as f:
        f.write(field(1, 0, 8))  # ir_version
        f.write(opset)
        f.write(varint((7 << 3) | 2) + varint(graph_len))
        f.write(node_field)
        f.write(init_field_head + init_head + raw_key)
        left = n * 4
        while left > 0:
            chunk = min(left, 64 << 20)
            f.write(os.urandom(chunk))
            left -= chunk
        f.write(graph_rest)


if __name__ == "__main__":
    main()
