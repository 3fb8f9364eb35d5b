#!/usr/bin/env bash
# Assembles what scripts/gpu-check.sh needs on a GPU machine with no Node and no network into one
# tarball: the Node binary of the `node` devDependency, onnxruntime-node with only its linux/x64
# binaries (and the CUDA/TensorRT provider libraries when it was installed with
# ONNXRUNTIME_NODE_INSTALL=cuda12), the demo's ResNet-50 ONNX file, and the bench scripts.
#
#   scripts/gpu-bundle.sh [out.tar.xz]      (run in a checkout after npm ci; default /tmp/modelgate-gpu-check.tar.xz)
#   on the GPU machine: tar xf modelgate-gpu-check.tar.xz && modelgate-gpu-check/gpu-check.sh
# The Node binary is stripped of its symbol table and the tarball compressed with xz when this
# machine has strip and xz (about 45 MB instead of 81 MB with gzip); a .tar.gz name gets gzip.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-/tmp/modelgate-gpu-check.tar.xz}")"
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
# Symbols only: the stripped binary runs the same (checked below).
if command -v strip >/dev/null; then strip "$b/bin/node" && "$b/bin/node" -e 'process.exit(0)'; fi
cp -r "$ort/package.json" "$ort/dist" "$b/node_modules/onnxruntime-node/"
cp -r "$ort/bin/napi-v6/linux/x64" "$b/node_modules/onnxruntime-node/bin/napi-v6/linux/"
cp -r "$root/node_modules/onnxruntime-common/package.json" "$root/node_modules/onnxruntime-common/dist" \
  "$b/node_modules/onnxruntime-common/"
cp "$model" "$b/models/fashion-resnet50-int8.onnx"
cp "$root/scripts/gpu-check.sh" "$root/scripts/gpu-bench.cjs" "$root/scripts/gpu-gateway-bench.cjs" "$b/"
case "$out" in
  *.tar.gz | *.tgz) tar -C "$stage" -czf "$out" modelgate-gpu-check ;;
  *) command -v xz >/dev/null || { echo "gpu-bundle: xz is missing: name the output .tar.gz" >&2; exit 1; }
     XZ_OPT='-6 -T0' tar -C "$stage" -cJf "$out" modelgate-gpu-check ;;
esac
echo "wrote $out ($(du -h "$out" | cut -f1); unpacked $(du -sh "$b" | cut -f1))"
echo "provider libraries: $(cd "$b/node_modules/onnxruntime-node/bin/napi-v6/linux/x64" && ls | tr '\n' ' ')"
