"""Stage `compress`: weight-only int8 ResNet-50, per output channel.

Every Conv and Gemm weight initializer W (fp32) becomes an int8 initializer Wq with one fp32
scale per output channel (scale = max|W[c]| / 127, zero point 0) feeding a DequantizeLinear node
(opset 13, axis 0; axis 1 for Gemm weights stored transposed), whose fp32 output replaces W as the
operator's input. Activations stay fp32; biases stay fp32.
"""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

from common import ROOT


def quantize(src, dst):
    model = onnx.load(src)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    consumers = {}
    for node in graph.node:
        if node.op_type in ("Conv", "Gemm") and len(node.input) > 1 and node.input[1] in inits:
            consumers.setdefault(node.input[1], []).append(node)
    new_nodes, removed = [], set()
    for name, nodes in consumers.items():
        w = numpy_helper.to_array(inits[name]).astype(np.float32)
        # The output-channel axis: Conv weights are [out, in, kh, kw]; Gemm's B is [out, in] with
        # transB=1 (torch's Linear export) or [in, out] otherwise.
        axis = 0
        if nodes[0].op_type == "Gemm":
            trans_b = next((a.i for a in nodes[0].attribute if a.name == "transB"), 0)
            axis = 0 if trans_b else 1
        reduce_axes = tuple(i for i in range(w.ndim) if i != axis)
        scale = np.abs(w).max(axis=reduce_axes) / 127.0
        scale[scale == 0] = 1.0
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        graph.initializer.extend([
            numpy_helper.from_array(q, f"{name}_quantized"),
            numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale"),
            numpy_helper.from_array(np.zeros(scale.shape, np.int8), f"{name}_zero_point"),
        ])
        new_nodes.append(helper.make_node(
            "DequantizeLinear", [f"{name}_quantized", f"{name}_scale", f"{name}_zero_point"], [name],
            name=f"{name}_dequantize", axis=axis,
        ))
        removed.add(name)
    kept = [i for i in graph.initializer if i.name not in removed]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # Dequantize nodes first: the graph stays topologically sorted.
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(new_nodes + nodes)
    if model.opset_import[0].version < 13:
        raise SystemExit("DequantizeLinear with axis needs opset >= 13")
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print(f"{os.path.basename(dst)}: {len(removed)} weights quantized, "
          f"{os.path.getsize(src)} -> {os.path.getsize(dst)} bytes", file=sys.stderr)


if __name__ == "__main__":
    quantize(os.path.join(ROOT, "build", "baseline.fp32.onnx"), os.path.join(ROOT, "onnx", "fashion-resnet50-int8.onnx"))
