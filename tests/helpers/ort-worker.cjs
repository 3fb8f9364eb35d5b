// @ts-check
// The worker behind tests/helpers/ort.ts: one session, one run, the outputs as plain Float32Arrays.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const ort = require('onnxruntime-node');

(async () => {
  try {
    const { model, input, outputNames, options } = workerData;
    const session = await ort.InferenceSession.create(Buffer.from(model), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // Only errors: saving an optimized graph otherwise warns on stderr that it is hardware-specific.
      logSeverityLevel: 3,
      ...options,
    });
    const result = await session.run({ [input.name]: new ort.Tensor('float32', input.data, input.dims) }, outputNames);
    /** @type {Record<string, Float32Array>} */
    const outputs = {};
    for (const name of outputNames) outputs[name] = new Float32Array(/** @type {Float32Array} */ (result[name]?.data));
    await session.release();
    parentPort?.postMessage({ ok: true, outputs });
  } catch (e) {
    parentPort?.postMessage({ ok: false, error: String(e instanceof Error ? e.message : e) });
  }
})();
