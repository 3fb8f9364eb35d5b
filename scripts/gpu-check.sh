#!/usr/bin/env bash
# What this machine offers the gateway's GPU execution providers, and how fast ResNet-50 runs on them.
# Runs from the bundle scripts/gpu-bundle.sh makes (no Node, no network needed: it brings its own
# Node and onnxruntime-node) or from a checkout after npm ci. Prints:
#   1. nvidia-smi (GPU, driver, CUDA version), when there is one;
#   2. the Vulkan devices (vulkaninfo --summary, else the driver manifests): the WebGPU provider needs one;
#   3. the providers onnxruntime-node was built with, and whether their libraries are here;
#   4. the in-process bench (gpu-bench.cjs): the demo ResNet-50 at 224x224, batch 1 and 32, on
#      cpu and each provider that loads, with each provider's logits against the CPU's;
#   5. with a built gateway (a checkout after `npm ci && npm run build`, or GATEWAY_CHECKOUT=dir),
#      the same model through GraphQL: batch 1 against dynamic batching (gpu-gateway-bench.cjs).
# Environment: BENCH_MIN_MS (timed time per cell, default 3000), BENCH_BUDGET_S (longest estimated run
# a cell may take, default 60), GATEWAY_SECONDS (per gateway cell, default 20), GATEWAY_CONCURRENCY
# (clients at once in the dynamic-batching cell, default 64), GATEWAY_PROVIDERS (default cpu,webgpu,cuda),
# CUDA_DEVICE_ID (0).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$here/bin/node" ]; then
  node="$here/bin/node" model="$here/models/fashion-resnet50-int8.onnx" scripts="$here" checkout="${GATEWAY_CHECKOUT:-}"
  ort="$here/node_modules/onnxruntime-node"
else
  root="$(cd "$here/.." && pwd)"
  node="$root/node_modules/.bin/node"
  [ -x "$node" ] || node="$(command -v node || true)"
  md5="$(sed -n '/path: onnx\/fashion-resnet50-int8.onnx/,/md5:/s/^ *md5: //p' "$root/models/dvc.lock" | head -n1)"
  model="$root/models/dvc-remote/files/md5/${md5:0:2}/${md5:2}" scripts="$here" checkout="${GATEWAY_CHECKOUT:-$root}"
  ort="$root/node_modules/onnxruntime-node"
fi
[ -x "$node" ] || { echo "gpu-check: no Node binary (run scripts/gpu-bundle.sh and copy its tarball here)" >&2; exit 1; }
section() { printf '\n== %s\n' "$*"; }

section "machine"
echo "$(uname -srm), $(nproc) CPUs, node $("$node" -v)"
grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/^.*: /cpu: /'

section "NVIDIA GPU (nvidia-smi)"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,compute_cap --format=csv 2>&1
  nvidia-smi 2>&1 | grep -m1 'CUDA Version' || true
else
  echo "no nvidia-smi: no NVIDIA driver on this machine"
fi

section "Vulkan devices (the WebGPU provider runs on one)"
if command -v vulkaninfo >/dev/null 2>&1; then
  vulkaninfo --summary 2>/dev/null | grep -E '^GPU[0-9]+:|deviceName|deviceType|driverName|driverInfo' || echo "vulkaninfo found no device"
else
  icds="$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null | tr '\n' ' ')"
  echo "no vulkaninfo (apt-get install vulkan-tools); driver manifests: ${icds:-none}"
fi

section "onnxruntime-node providers"
"$node" -e '
const path = require("node:path");
const ort = require(process.argv[1]);
const dir = path.join(process.argv[1], "bin", "napi-v6", "linux", "x64");
const libs = require("node:fs").readdirSync(dir);
for (const b of ort.listSupportedBackends()) {
  const lib = b.name === "cuda" || b.name === "tensorrt" ? libs.find((f) => f.includes(`providers_${b.name}`)) : null;
  const note = b.bundled ? "bundled" : lib ? `provider library ${lib} present` : "not bundled (after npm ci, on a machine with internet: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install)";
  console.log(`${b.name.padEnd(9)} ${note}`);
}' "$ort"

section "in-process bench: demo ResNet-50 at 224x224 (gpu-bench.cjs)"
# Dawn prints its Vulkan limit adjustments on stderr: not errors.
"$node" "$scripts/gpu-bench.cjs" --model "$model" --size 224 --batches 1,32 --providers cpu,webgpu,cuda,tensorrt \
  --min-ms "${BENCH_MIN_MS:-3000}" --budget-s "${BENCH_BUDGET_S:-60}" --device-id "${CUDA_DEVICE_ID:-0}" 2> >(grep -v '^Warning: max' >&2)

section "through the gateway: batch 1 against dynamic batching (gpu-gateway-bench.cjs)"
if [ -n "$checkout" ] && [ -f "$checkout/dist/cli/main.js" ]; then
  PATH="$(dirname "$node"):$PATH" "$node" "$scripts/gpu-gateway-bench.cjs" --checkout "$checkout" --model "$model" --size 224 \
    --providers "${GATEWAY_PROVIDERS:-cpu,webgpu,cuda}" --seconds "${GATEWAY_SECONDS:-20}" \
    --concurrency "${GATEWAY_CONCURRENCY:-64}" 2> >(grep -v '^Warning: max' >&2)
else
  echo "skipped: no built gateway here (GATEWAY_CHECKOUT=<checkout after npm ci && npm run build>)"
fi
