"""Stage `export`: each trained model to ONNX (opset 13), input "input" [N,1,H,W], output "logits".

Batch is dynamic for every model; height and width are dynamic where the architecture allows it
(ResNet-50 and the candidate end in global average pooling; the champion flattens a fixed 7x7 map).
Writes the file named by OUTPUTS: the champion and the candidate are committed as exported; the
ResNet-50 fp32 file (94 MB) stays in build/ and is compressed by the next stage.
"""
import os
import sys

import onnx
import torch
import yaml

from common import ARCHS, ROOT

DYNAMIC_HW = {"resnet50": True, "bn-cnn": True, "small-cnn": False}
OUTPUTS = {
    "baseline": "build/baseline.fp32.onnx",
    "champion": "onnx/fashion-small-cnn.onnx",
    "candidate": "onnx/fashion-bn-cnn.onnx",
}


def export(name):
    params = yaml.safe_load(open(os.path.join(ROOT, "params.yaml")))[f"train_{name}"]
    model = ARCHS[params["arch"]]()
    model.load_state_dict(torch.load(os.path.join(ROOT, "build", f"{name}.pt")))
    model.eval()
    axes = {"input": {0: "batch"}, "logits": {0: "batch"}}
    if DYNAMIC_HW[params["arch"]]:
        axes["input"].update({2: "height", 3: "width"})
    out = os.path.join(ROOT, OUTPUTS[name])
    os.makedirs(os.path.dirname(out), exist_ok=True)
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), out, opset_version=13, input_names=["input"], output_names=["logits"],
        dynamic_axes=axes, do_constant_folding=True,
    )
    m = onnx.load(out)
    onnx.checker.check_model(m)
    # Deterministic bytes: no producer version noise beyond what the exporter writes.
    m.doc_string = f"modelgate demo: fashion-classifier {name} ({params['arch']})"
    onnx.save(m, out)
    print(f"{name}: {os.path.getsize(out)} bytes", file=sys.stderr)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["baseline", "champion", "candidate"]:
        export(name)
