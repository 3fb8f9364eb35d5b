"""An fp32 ResNet-50 for benchmarks, rebuilt from the committed weight-only int8 graph.

The fp32 export (`build/baseline.fp32.onnx`, 94 MB) is `push: false`: a fresh clone has only the
int8 file (`onnx/fashion-resnet50-int8.onnx`, in the DVC remote). This script undoes what
`compress.py` did to the graph: every DequantizeLinear node whose inputs are all initializers
becomes one fp32 initializer, named like the node's output,

    W = (q - zero_point) * scale        (per tensor, or per channel along `axis`)

and the int8 weights, scales and zero points it consumed are dropped. Every other node is left as
it is, so the result has the fp32 export's operators, shapes and FLOPs: the same latency.

Its weights are the int8 ones dequantized, NOT the original fp32 weights (rounding to int8 is
lossy), so its md5 differs from the one dvc.lock records for build/baseline.fp32.onnx: it is a
stand-in for latency comparisons (`npm run bench:inference`), not a replacement for the export.
Because of that, an existing file is never overwritten unless --force is given, and the file should
be deleted before rerunning the pipeline (dvc_repro.py would see a changed output of `export`).

    /usr/bin/python3 models/pipeline/dequantize.py [--force] [INPUT.onnx [OUTPUT.onnx]]

INPUT defaults to the workspace copy of onnx/fashion-resnet50-int8.onnx, else its bytes in the
local DVC remote (found by the md5 dvc.lock records); OUTPUT to build/baseline.fp32.onnx.
Needs Debian's python3-onnx and python3-numpy (`apt-get install -y python3-onnx python3-numpy`),
not torch.
"""
import hashlib
import os
import re
import sys

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # models/
INT8_PATH = "onnx/fashion-resnet50-int8.onnx"
DEFAULT_OUT = os.path.join(ROOT, "build", "baseline.fp32.onnx")


def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def locked_md5(out_path):
    """The md5 dvc.lock records for an output (the first stage that lists it), without a YAML library."""
    with open(os.path.join(ROOT, "dvc.lock"), encoding="utf8") as f:
        text = f.read()
    m = re.search(r"- path: " + re.escape(out_path) + r"\n\s+hash: md5\n\s+md5: ([0-9a-f]{32})\n", text)
    return m.group(1) if m else None


def int8_source():
    """The committed int8 file: the workspace copy when its md5 matches dvc.lock, else the local remote."""
    want = locked_md5(INT8_PATH)
    if want is None:
        raise SystemExit(f"dvc.lock records no md5 for {INT8_PATH}")
    workspace = os.path.join(ROOT, INT8_PATH)
    if os.path.isfile(workspace) and md5(workspace) == want:
        return workspace
    remote = os.path.join(ROOT, "dvc-remote", "files", "md5", want[:2], want[2:])
    if os.path.isfile(remote) and md5(remote) == want:
        return remote
    raise SystemExit(f"{INT8_PATH} (md5 {want}) is neither in the workspace nor in models/dvc-remote")


def dequantize_array(q, scale, zero_point, axis, rank):
    q = q.astype(np.float32)
    zp = np.zeros_like(scale, dtype=np.float32) if zero_point is None else zero_point.astype(np.float32)
    if scale.ndim == 0:
        return ((q - zp) * scale).astype(np.float32)
    # Per channel: a 1-D scale along `axis` (ONNX default 1; negative counts from the end).
    axis = axis + rank if axis < 0 else axis
    if scale.ndim != 1 or scale.shape[0] != q.shape[axis]:
        raise SystemExit(f"scale of shape {scale.shape} does not match axis {axis} of a weight of shape {q.shape}")
    shape = [1] * rank
    shape[axis] = -1
    return ((q - zp.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


def dequantize(src, dst):
    model = onnx.load(src)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    folded, keep_nodes, new_inits = 0, [], []
    for node in graph.node:
        ins = [n for n in node.input if n]
        if node.op_type != "DequantizeLinear" or not all(n in inits for n in ins):
            keep_nodes.append(node)
            continue
        q = numpy_helper.to_array(inits[ins[0]])
        scale = numpy_helper.to_array(inits[ins[1]]).astype(np.float32)
        zero_point = numpy_helper.to_array(inits[ins[2]]) if len(ins) > 2 else None
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        w = dequantize_array(q, scale, zero_point, axis, q.ndim)
        new_inits.append(numpy_helper.from_array(w, node.output[0]))
        folded += 1
    if folded == 0:
        raise SystemExit(f"{src} has no DequantizeLinear node fed by initializers: nothing to do")
    # Drop the initializers nothing reads any more (the int8 weights, scales, zero points).
    used = {n for node in keep_nodes for n in node.input}
    used |= {o.name for o in graph.output}
    kept = [i for i in graph.initializer if i.name in used] + new_inits
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(keep_nodes)
    # Old IR versions list initializers as graph inputs too: keep that list consistent.
    names = {i.name for i in graph.initializer}
    stale = [i for i in graph.input if i.name in inits and i.name not in names]
    for i in stale:
        graph.input.remove(i)
    left = [n.op_type for n in graph.node if n.op_type in ("DequantizeLinear", "QuantizeLinear")]
    if left:
        raise SystemExit(f"{len(left)} (De)QuantizeLinear nodes remain: not a weight-only int8 graph")
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    tmp = dst + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, dst)
    print(f"{os.path.relpath(dst)}: {folded} DequantizeLinear nodes folded into fp32 initializers, "
          f"{os.path.getsize(src)} -> {os.path.getsize(dst)} bytes (from {os.path.relpath(src)})", file=sys.stderr)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--force"]
    force = "--force" in sys.argv[1:]
    src = args[0] if len(args) > 0 else int8_source()
    dst = args[1] if len(args) > 1 else DEFAULT_OUT
    if os.path.exists(dst) and not force:
        print(f"{os.path.relpath(dst)} exists (md5 {md5(dst)}); pass --force to replace it", file=sys.stderr)
        sys.exit(0)
    dequantize(src, dst)
