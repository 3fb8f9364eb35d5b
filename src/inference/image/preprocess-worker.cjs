// @ts-check
// A preprocessing thread: decodes and resizes images (image-pool.ts sends them), so that a
// 50-megapixel image never runs on the gateway's thread. One image at a time per thread, which is
// also what bounds the pixels being decoded at once. Plain CommonJS, loaded as is from src/ under
// jest (with the TypeScript sources transpiled on require) and from dist/ in production.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');

if (!parentPort) throw new Error('preprocess-worker.cjs runs as a worker thread');
const port = parentPort;
// At INFERENCE_NICE, like the inference threads: the gateway's thread preempts a long decode.
const niceNote = require('../thread-nice.cjs')(Number(workerData?.nice ?? 0));
if (!fs.existsSync(path.join(__dirname, 'preprocess-job.js'))) require('../ts-require.cjs')();
const { runJob } = require('./preprocess-job');

if (niceNote) port.postMessage({ id: 0, note: niceNote });
port.on('message', async (/** @type {any} */ msg) => {
  const reply = await runJob(msg);
  port.postMessage(reply, reply.ok ? [reply.data.buffer] : []);
});
