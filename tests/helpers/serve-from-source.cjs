// @ts-check
// `modelgate <args>` from the TypeScript sources, without a build: tests spawn real gateway processes
// with it (node tests/helpers/serve-from-source.cjs serve). Each .ts module is transpiled as it is
// loaded (src/inference/ts-require.cjs, which worker threads register themselves too).
'use strict';
const path = require('node:path');
require(path.join(__dirname, '..', '..', 'src', 'inference', 'ts-require.cjs'))();

const { main } = require(path.join(__dirname, '..', '..', 'src', 'cli', 'main.ts'));
main(process.argv).then((/** @type {number} */ status) => {
  if (status !== 0) process.exit(status);
});
