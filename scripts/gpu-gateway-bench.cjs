#!/usr/bin/env node
// End-to-end bench for scripts/gpu-check.sh, when a built gateway is at hand (a checkout after
// `npm ci && npm run build`): for each execution provider, a fresh `modelgate serve` (embedded
// database, no demo seed) registers the ONNX classifier with a SIZExSIZE input, and predict requests
// go through GraphQL: one at a time (batch 1), then --concurrency at once (dynamic batching, up to
// MAX_BATCH_SIZE=32 per run). Images/s of each, and the mean batch size the gateway reported.
// Node built-ins only. A bench, not a test: it reports and exits 0 once it could measure.
//
//   node gpu-gateway-bench.cjs --checkout DIR --model file.onnx [--size 224] [--providers cpu,webgpu,cuda]
//                              [--seconds 20] [--concurrency 64] [--image file.png]
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const checkout = path.resolve(opt('checkout', '.'));
const model = path.resolve(opt('model', ''));
const size = Number(opt('size', '224'));
const providers = opt('providers', 'cpu,webgpu,cuda').split(',');
const seconds = Number(opt('seconds', '20'));
const concurrency = Number(opt('concurrency', '64'));
const image = fs.readFileSync(opt('image', path.join(checkout, 'models', 'samples', 'bag.png'))).toString('base64');
const main = path.join(checkout, 'dist', 'cli', 'main.js');
if (!fs.existsSync(main) || !fs.existsSync(model)) {
  console.error(`usage: gpu-gateway-bench.cjs --checkout DIR (with dist/cli/main.js: npm run build) --model file.onnx`);
  process.exit(2);
}

const KEY = `mg_bench_${randomBytes(16).toString('hex')}`;

/** A gateway on a free port with this provider first; resolves with its URL once it listens. */
function startGateway(provider, dataDir) {
  const child = spawn(process.execPath, [main, 'serve'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(process.env.VK_ICD_FILENAMES ? { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES } : {}),
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      DEMO_SEED: 'false',
      ADMIN_API_KEY: KEY,
      IMPORT_ROOTS: path.dirname(model),
      EXECUTION_PROVIDERS: provider === 'cpu' ? 'cpu' : `${provider},cpu`,
      MAX_BATCH_SIZE: '32',
      MODEL_MEMORY_BUDGET_MB: '16384',
      LOG_LEVEL: 'info',
      // Requests queue behind slow runs on a slow provider: the deadline must not be what is measured.
      INFERENCE_TIMEOUT_S: '600',
      INFERENCE_QUEUE_PER_VERSION: String(concurrency * 4),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const l = JSON.parse(line);
        if (l.msg === 'modelgate is listening') resolve({ child, url: l.url });
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}): ${stderr.slice(-400)}`)));
  });
}

async function gql(url, query, variables) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(`${body.errors[0].extensions?.code}: ${body.errors[0].message}`);
  return body.data;
}

const PREDICT = `query($image: ImageInput!) { predict(ref: { model: "bench" }, image: $image, topK: 1) { executionProvider timingsMs } }`;

/** `clients` loops sending predicts for `seconds`: images/s and the mean batch size of the runs. */
async function load(url, clients) {
  const until = performance.now() + seconds * 1000;
  let n = 0;
  let batchSum = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const p = (await gql(url, PREDICT, { image: { base64: image } })).predict;
        n++;
        batchSum += p.timingsMs.batchSize;
      }
    }),
  );
  return { imagesPerSecond: (n * 1000) / (performance.now() - started), meanBatch: batchSum / Math.max(1, n), n };
}

(async () => {
  console.log(
    `gateway end to end: ${path.basename(model)} registered at ${size}x${size}, ${seconds} s per cell, ${os.availableParallelism()} CPU threads`,
  );
  console.log('provider  loaded on  batch-1 images/s  dynamic images/s (mean batch)  dynamic / batch-1');
  for (const provider of providers) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelgate-gpu-bench-'));
    let gw;
    try {
      gw = await startGateway(provider, dataDir);
      await gql(gw.url, `mutation($m: RegisterModelInput!) { registerModel(input: $m) { name } }`, {
        m: {
          name: 'bench',
          labels: Array.from({ length: 10 }, (_, i) => `class${i}`),
          // The demo's spec, at SIZE: the gateway resizes every image to it.
          inputSpec: {
            width: size,
            height: size,
            channels: 1,
            resize: 'resize',
            scale: 255,
            mean: [0.286],
            std: [0.353],
          },
        },
      });
      await gql(gw.url, `mutation($v: RegisterVersionInput!) { registerVersion(input: $v) { version } }`, {
        v: { model: 'bench', artifactPath: model },
      });
      const loaded = (await gql(gw.url, `mutation { loadVersion(ref: { model: "bench" }) { executionProvider } }`))
        .loadVersion.executionProvider;
      const one = await load(gw.url, 1);
      const many = await load(gw.url, concurrency);
      console.log(
        [
          provider.padEnd(8),
          loaded.padEnd(9),
          one.imagesPerSecond.toFixed(1).padStart(16),
          `${many.imagesPerSecond.toFixed(1)} (${many.meanBatch.toFixed(1)})`.padStart(29),
          `${(many.imagesPerSecond / one.imagesPerSecond).toFixed(2)}x`.padStart(17),
        ].join('  '),
      );
    } catch (e) {
      console.log(`${provider.padEnd(8)}  ${String(e instanceof Error ? e.message : e).split('\n')[0]}`);
    } finally {
      if (gw) {
        gw.child.kill('SIGTERM');
        await new Promise((r) => gw.child.once('exit', r));
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
})();
