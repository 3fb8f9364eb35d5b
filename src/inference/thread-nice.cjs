// @ts-check
// INFERENCE_NICE for a worker thread. On Linux the nice value belongs to the thread (setpriority
// with pid 0 changes the calling thread only), and threads inherit it from the thread that creates
// them, so setting it first thing in a worker covers the threads it starts later (onnxruntime's
// pools). Elsewhere it would renice the whole gateway, so it is Linux only. Raising nice needs no
// privilege; lowering it does, and is never attempted.
'use strict';
const os = require('node:os');

/** @param {number} wanted @returns {string | null} a note when it could not be set */
module.exports = function setThreadNice(wanted) {
  if (process.platform !== 'linux' || !(wanted > 0)) return null;
  try {
    if (os.getPriority() < wanted) os.setPriority(wanted);
    return null;
  } catch (e) {
    return `could not set INFERENCE_NICE ${wanted}: ${e instanceof Error ? e.message : e}`;
  }
};
