#!/usr/bin/env node
// In-process inference bench for scripts/gpu-check.sh: one ONNX image classifier at SIZExSIZE,
// batch 1 and batch 32, on each execution provider that loads it. Needs nothing but Node and
// onnxruntime-node (found next to this file in the bundle, or in the checkout's node_modules), so it
// runs on a GPU machine with no network. A bench, not a test: it reports and always exits 0 once it
// could measure. Each cell: warm-up runs, then timed runs for at least --min-ms; the median run.
//
//   node gpu-bench.cjs --model resnet50.onnx [--size 224] [--batches 1,32] [--providers cpu,webgpu,cuda,tensorrt]
//                      [--min-ms 3000] [--budget-s 60] [--device-id 0] [--json]
//
// A cell whose estimated run (batch x the batch-1 time) exceeds --budget-s is skipped and says so:
// ResNet-50 at 224x224 on software Vulkan (lavapipe) takes about 1.6 s per image.
'use strict';
const path = require('node:path');
const os = require('node:os');

function loadOrt() {
  for (const p of [path.join(__dirname, 'node_modules', 'onnxruntime-node'), 'onnxruntime-node']) {
    try {
      return require(p);
    } catch {
      // next candidate
    }
  }
  throw new Error('onnxruntime-node not found next to this script nor on the module path');
}
const ort = loadOrt();
ort.env.logLevel = 'fatal';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const model = opt('model');
if (!model) {
  console.error(
    'usage: gpu-bench.cjs --model file.onnx [--size 224] [--batches 1,32] [--providers cpu,webgpu,cuda,tensorrt]',
  );
  process.exit(2);
}
const size = Number(opt('size', '224'));
const batches = opt('batches', '1,32').split(',').map(Number);
const providers = opt('providers', 'cpu,webgpu,cuda,tensorrt').split(',');
const minMs = Number(opt('min-ms', '3000'));
const budgetMs = Number(opt('budget-s', '60')) * 1000;
const deviceId = Number(opt('device-id', '0'));
const json = args.includes('--json');
const threads = os.availableParallelism();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const firstLine = (e) =>
  String(e instanceof Error ? e.message : e)
    .split('\n')[0]
    .slice(0, 200);

/** The same options the gateway passes (src/inference/onnx-backend.ts, onnx-worker.cjs). */
function sessionOptions(provider) {
  return {
    executionProviders: [provider === 'cuda' || provider === 'tensorrt' ? { name: provider, deviceId } : provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // The demo ResNet-50 keeps int8 weights feeding DequantizeLinear: folded to fp32 at load, as the
    // gateway does for weight-only int8 graphs (STACK-NOTES.md). Harmless for a plain fp32 graph.
    extra: { session: { disable_quant_qdq: '1' } },
  };
}

/** A fixed, deterministic input (the same on every provider, so outputs can be compared). */
function input(dims) {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 2654435761) % 1000) / 500 - 1;
  return data;
}

async function timeRuns(session, feeds, first) {
  const times = [];
  let total = 0;
  while (total < minMs || times.length < 3) {
    const t0 = performance.now();
    await session.run(feeds);
    const ms = performance.now() - t0;
    times.push(ms);
    total += ms;
    if (times.length >= 200 || (first && ms > budgetMs / 3)) break;
  }
  return { medianMs: median(times), runs: times.length };
}

(async () => {
  const rows = [];
  /** @type {Record<string, Float32Array>} batch-1 outputs per provider, compared with cpu's. */
  const outputs = {};
  const supported = ort.listSupportedBackends();
  for (const provider of providers) {
    const known = supported.find((b) => b.name === provider);
    let session;
    try {
      session = await ort.InferenceSession.create(model, sessionOptions(provider));
    } catch (e) {
      rows.push({
        provider,
        status: known && !known.bundled ? `not loaded (not bundled): ${firstLine(e)}` : `not loaded: ${firstLine(e)}`,
      });
      continue;
    }
    const meta = session.inputMetadata[0];
    const channels = typeof meta.shape[1] === 'number' && meta.shape[1] > 0 ? meta.shape[1] : 3;
    let batch1Ms = null;
    for (const batch of batches) {
      const dims = [batch, channels, size, size];
      if (batch1Ms !== null && batch * batch1Ms > budgetMs) {
        rows.push({
          provider,
          batch,
          status: `skipped: ~${((batch * batch1Ms) / 1000).toFixed(0)} s per run, over --budget-s`,
        });
        continue;
      }
      const feeds = { [meta.name]: new ort.Tensor('float32', input(dims), dims) };
      try {
        const warm = await session.run(feeds);
        if (batch === 1) outputs[provider] = new Float32Array(warm[session.outputNames[0]].data);
        await session.run(feeds);
        const { medianMs, runs } = await timeRuns(session, feeds, batch === batches[0]);
        if (batch === 1) batch1Ms = medianMs;
        rows.push({ provider, batch, status: 'ok', medianMs, imagesPerSecond: (batch * 1000) / medianMs, runs });
      } catch (e) {
        rows.push({ provider, batch, status: `run failed: ${firstLine(e)}` });
      }
    }
    await session.release();
  }
  const cpu = outputs.cpu;
  for (const r of rows) {
    const out = outputs[r.provider];
    if (r.batch === 1 && cpu && out && r.provider !== 'cpu')
      r.maxAbsDiffVsCpu = Math.max(...out.map((v, i) => Math.abs(v - cpu[i])));
  }
  const cpuRate = (b) => rows.find((r) => r.provider === 'cpu' && r.batch === b && r.status === 'ok')?.imagesPerSecond;
  for (const r of rows) if (r.imagesPerSecond && cpuRate(r.batch)) r.vsCpu = r.imagesPerSecond / cpuRate(r.batch);
  if (json) {
    process.stdout.write(JSON.stringify({ model: path.basename(model), size, threads, rows }, null, 2) + '\n');
    return;
  }
  console.log(
    `model ${path.basename(model)} at ${size}x${size}, onnxruntime-node ${require(path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'package.json')).version}, ${threads} CPU threads, load average ${os.loadavg()[0].toFixed(2)} at the end`,
  );
  console.log('provider  batch  median ms/run  images/s  x cpu  runs  max |logit diff| vs cpu  status');
  for (const r of rows) {
    const cells = [
      r.provider.padEnd(8),
      String(r.batch ?? '-').padStart(5),
      (r.medianMs?.toFixed(1) ?? '-').padStart(13),
      (r.imagesPerSecond?.toFixed(1) ?? '-').padStart(8),
      (r.vsCpu?.toFixed(2) ?? '-').padStart(5),
      String(r.runs ?? '-').padStart(4),
      (r.maxAbsDiffVsCpu?.toExponential(1) ?? '-').padStart(23),
      r.status,
    ];
    console.log(cells.join('  '));
  }
})().catch((e) => {
  console.error(`gpu-bench: ${firstLine(e)}`);
  process.exit(1);
});
