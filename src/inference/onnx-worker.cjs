// @ts-check
// The inference worker thread: owns onnxruntime-node sessions and runs them here, because
// InferenceSession.run() blocks the thread it is called on for the whole inference.
// Plain CommonJS so that a Worker can load it as is, from src/ under jest and from dist/ in production.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
const ort = require('onnxruntime-node');
// Under jest the TypeScript sources next to this file are transpiled as they are required.
if (!fs.existsSync(path.join(__dirname, 'speed-benchmark.js'))) require('./ts-require.cjs')();
const { benchmarkInput, benchmarkRuns } = require('./speed-benchmark');
const { countParameters } = require('./parameter-count');

if (!parentPort) throw new Error('onnx-worker.cjs runs as a worker thread');

// Before the first session, so that onnxruntime's pool threads inherit it (thread-nice.cjs).
/** @type {string | null} */
let niceNote = require('./thread-nice.cjs')(Number(workerData?.nice ?? 0));

// onnxruntime's own log lines go to stderr as coloured text; every failure it reports is returned
// to the gateway instead, which logs it as JSON with the model and version.
ort.env.logLevel = 'fatal';

/** @type {Map<string, import('onnxruntime-node').InferenceSession>} */
const sessions = new Map();

const firstLine = (/** @type {unknown} */ e) =>
  String(e instanceof Error ? e.message : e)
    .split('\n')[0]
    .trim();

/**
 * Creates the session with the first execution provider of the preference list that works; the
 * providers that failed are returned as warnings (the caller logs them).
 * @param {{ key: string, file: string, providers: { name: string, config: string | { name: string } }[], intraOpNumThreads: number,
 *   interOpNumThreads: number, disableQuantQdq: boolean, allowSpinning: boolean }} msg
 */
async function load(msg) {
  const warnings = niceNote ? [niceNote] : [];
  niceNote = null;
  const before = process.memoryUsage().rss;
  for (const { name: provider, config } of msg.providers) {
    try {
      const session = await ort.InferenceSession.create(msg.file, {
        executionProviders: [config],
        intraOpNumThreads: msg.intraOpNumThreads,
        interOpNumThreads: msg.interOpNumThreads,
        graphOptimizationLevel: 'all',
        extra: {
          session: {
            // INFERENCE_SPINNING: pool threads spin for work (faster hand-offs between a run's
            // operators) or sleep (no CPU burnt after a run); at INFERENCE_NICE either way they give
            // way to the gateway's thread.
            intra_op: { allow_spinning: msg.allowSpinning ? '1' : '0' },
            // Weight-only int8 graphs: fold DequantizeLinear into fp32 weights, else onnxruntime keeps
            // the nodes for QDQ fusion and runs ~1.8x slower (see isWeightOnlyQuantized in graph-ops.ts).
            ...(msg.disableQuantQdq ? { disable_quant_qdq: '1' } : {}),
          },
        },
      });
      const old = sessions.get(msg.key);
      if (old) await old.release();
      sessions.set(msg.key, session);
      return {
        provider,
        warnings,
        rssDelta: Math.max(0, process.memoryUsage().rss - before),
        inputs: session.inputMetadata.map((m) => ({ name: m.name, shape: m.isTensor ? m.shape : [] })),
        outputs: session.outputNames,
      };
    } catch (e) {
      warnings.push(`${provider}: ${firstLine(e)}`);
    }
  }
  throw new Error(`no execution provider could load the model (${warnings.join('; ')})`);
}

/**
 * A graph's inputs and outputs, read by loading it the way it will be served, here rather than on
 * the gateway's event loop (loading a large graph takes as long as a prediction or more).
 * @param {{ file: string }} msg
 */
async function inspect(msg) {
  let session;
  try {
    session = await ort.InferenceSession.create(msg.file, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'disabled',
    });
  } catch (e) {
    return { error: `not a loadable ONNX graph: ${firstLine(e)}` };
  }
  try {
    const describe = (/** @type {any} */ m) =>
      m.isTensor
        ? // Unknown dimensions come back as negative numbers or empty strings: keep them as symbols.
          {
            name: m.name,
            type: m.type,
            shape: m.shape.map((/** @type {number|string} */ d) =>
              typeof d === 'number' ? (d >= 0 ? d : '?') : d || '?',
            ),
          }
        : { name: m.name, type: null, shape: [] };
    return {
      signature: {
        inputs: session.inputMetadata.map(describe),
        outputs: session.outputMetadata.map(describe),
        // Decoding the whole graph takes a while for a large one: here, not on the gateway's thread.
        parameters: parameterCount(msg.file),
      },
    };
  } finally {
    await session.release();
  }
}

/** The graph's weights (parameter-count.ts), or null when the file cannot be decoded as ONNX protobuf. */
function parameterCount(/** @type {string} */ file) {
  try {
    return countParameters(fs.readFileSync(file));
  } catch {
    return null;
  }
}

/**
 * The version's speed at one input shape (speed-benchmark.ts): a fixed input, warm-up runs, then
 * timed runs; the median run time. Runs in this worker's message chain, so nothing else runs on
 * this worker meanwhile.
 * @param {{ key: string, inputName: string, outputName: string, dims: number[],
 *   options: import('./speed-benchmark').BenchmarkOptions }} msg
 */
async function benchmark(msg) {
  const session = sessions.get(msg.key);
  if (!session) throw new Error(`model ${msg.key} is not loaded in this worker`);
  const feeds = { [msg.inputName]: new ort.Tensor('float32', benchmarkInput(msg.dims), msg.dims) };
  return benchmarkRuns(() => session.run(feeds, [msg.outputName]), msg.options);
}

/** @param {{ key: string, inputName: string, outputName: string, data: Float32Array, dims: number[] }} msg */
async function run(msg) {
  const session = sessions.get(msg.key);
  if (!session) throw new Error(`model ${msg.key} is not loaded in this worker`);
  const started = performance.now();
  const feeds = { [msg.inputName]: new ort.Tensor('float32', msg.data, msg.dims) };
  const result = await session.run(feeds, [msg.outputName]);
  const out = result[msg.outputName];
  if (!out || out.type !== 'float32') throw new Error(`output ${msg.outputName} is not a float32 tensor`);
  // Copy out of onnxruntime's buffer so it can be transferred.
  const data = new Float32Array(/** @type {Float32Array} */ (out.data));
  return { data, dims: [...out.dims], ms: performance.now() - started };
}

/**
 * Several outputs of one run, for calibration: the fp32 graph with intermediate tensors exposed as
 * outputs, whose value ranges set the int8 scales.
 * @param {{ key: string, inputName: string, outputNames: string[], data: Float32Array, dims: number[] }} msg
 */
async function runOutputs(msg) {
  const session = sessions.get(msg.key);
  if (!session) throw new Error(`model ${msg.key} is not loaded in this worker`);
  const started = performance.now();
  const feeds = { [msg.inputName]: new ort.Tensor('float32', msg.data, msg.dims) };
  const result = await session.run(feeds, msg.outputNames);
  /** @type {Record<string, { data: Float32Array, dims: number[] }>} */
  const outputs = {};
  for (const name of msg.outputNames) {
    const out = result[name];
    if (!out || out.type !== 'float32') throw new Error(`output ${name} is not a float32 tensor`);
    outputs[name] = { data: new Float32Array(/** @type {Float32Array} */ (out.data)), dims: [...out.dims] };
  }
  return { outputs, ms: performance.now() - started };
}

// Messages are handled strictly one after another: onnxruntime defers create() and run() with
// setImmediate, so without this chain an `unload` or `close` sent after a `run` could dispose the
// session before that run starts.
let chain = Promise.resolve();
parentPort.on('message', (/** @type {any} */ msg) => {
  chain = chain.then(() => handle(msg));
});

async function handle(/** @type {any} */ msg) {
  const reply = (/** @type {any} */ body, /** @type {ArrayBuffer[]} */ transfer = []) =>
    parentPort?.postMessage({ id: msg.id, ...body }, transfer);
  try {
    if (msg.type === 'load') return reply({ ok: true, result: await load(msg) });
    if (msg.type === 'run') {
      const result = await run(msg);
      return reply({ ok: true, result }, [result.data.buffer]);
    }
    if (msg.type === 'runOutputs') {
      const result = await runOutputs(msg);
      return reply(
        { ok: true, result },
        Object.values(result.outputs).map((o) => /** @type {ArrayBuffer} */ (o.data.buffer)),
      );
    }
    if (msg.type === 'benchmark') return reply({ ok: true, result: await benchmark(msg) });
    if (msg.type === 'unload') {
      const session = sessions.get(msg.key);
      sessions.delete(msg.key);
      if (session) await session.release();
      return reply({ ok: true, result: null });
    }
    if (msg.type === 'inspect') return reply({ ok: true, result: await inspect(msg) });
    if (msg.type === 'close') {
      // Every run sent before this message has finished (see the chain above): release the sessions
      // and let the thread end by itself (terminating it mid-run aborts the process).
      for (const [key, session] of sessions) {
        sessions.delete(key);
        await session.release();
      }
      reply({ ok: true, result: null });
      return parentPort?.close();
    }
    if (msg.type === 'providers') return reply({ ok: true, result: ort.listSupportedBackends() });
    reply({ ok: false, error: `unknown message ${msg.type}` });
  } catch (e) {
    reply({ ok: false, error: firstLine(e) });
  }
}
