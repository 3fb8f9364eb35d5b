#!/usr/bin/env bash
# Assembles what scripts/gpu-check.sh needs on a GPU machine with no Node and no network into one
# tarball: the Node binary of the `node` devDependency, onnxruntime-node with only its linux/x64
# binaries (and the CUDA/TensorRT provider libraries when it was installed with
# ONNXRUNTIME_NODE_INSTALL=cuda12), the demo's ResNet-50 ONNX file, and the bench scripts.
#
#   scripts/gpu-bundle.sh [out.tar.gz]      (run in a checkout after npm ci; default /tmp/modelgate-gpu-check.tar.gz)
#   on the GPU machine: tar xzf modelgate-gpu-check.tar.gz && modelgate-gpu-check/gpu-check.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-/tmp/modelgate-gpu-check.tar.gz}")"
ort="$root/node_modules/onnxruntime-node"
node_bin="$root/node_modules/node/bin/node"
# The demo's baseline: ResNet-50 (1-channel first convolution), int8 weights per output channel,
# dynamic batch, height and width, so one file serves 224x224 (models/README.md).
model_md5="$(sed -n '/path: onnx\/fashion-resnet50-int8.onnx/,/md5:/s/^ *md5: //p' "$root/models/dvc.lock" | head -n1)"
model="$root/models/dvc-remote/files/md5/${model_md5:0:2}/${model_md5:2}"
for f in "$node_bin" "$ort/package.json" "$root/node_modules/onnxruntime-common/package.json" "$model"; do
  [ -e "$f" ] || { echo "gpu-bundle: $f is missing (npm ci first)" >&2; exit 1; }
done

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
b="$stage/modelgate-gpu-check"
mkdir -p "$b/bin" "$b/models" "$b/node_modules/onnxruntime-node/bin/napi-v6/linux" "$b/node_modules/onnxruntime-common"
cp "$node_bin" "$b/bin/node"
cp -r "$ort/package.json" "$ort/dist" "$b/node_modules/onnxruntime-node/"
cp -r "$ort/bin/napi-v6/linux/x64" "$b/node_modules/onnxruntime-node/bin/napi-v6/linux/"
cp -r "$root/node_modules/onnxruntime-common/package.json" "$root/node_modules/onnxruntime-common/dist" \
  "$b/node_modules/onnxruntime-common/"
cp "$model" "$b/models/fashion-resnet50-int8.onnx"
cp "$root/scripts/gpu-check.sh" "$root/scripts/gpu-bench.cjs" "$root/scripts/gpu-gateway-bench.cjs" "$b/"
tar -C "$stage" -czf "$out" modelgate-gpu-check
echo "wrote $out ($(du -h "$out" | cut -f1); unpacked $(du -sh "$b" | cut -f1))"
echo "provider libraries: $(cd "$b/node_modules/onnxruntime-node/bin/napi-v6/linux/x64" && ls | tr '\n' ' ')"
