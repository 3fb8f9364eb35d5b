// @ts-check
// A gateway in a process of its own whose Vulkan loader finds no driver (VK_ICD_FILENAMES names a
// file that does not exist, set by the parent): Dawn then has no adapter, as on a machine without
// Vulkan. It must be a process of its own: Dawn's first adapter search is kept for the life of the
// process, so a gateway in the test's process would see whatever the first search found.
// It loads gray v1 with EXECUTION_PROVIDERS=webgpu,cpu, predicts once and prints, as its last line,
// the JSON of what the API reported and the warnings the gateway logged.
'use strict';
const path = require('node:path');
const { Writable } = require('node:stream');

// The TypeScript sources, transpiled as they are required.
require(path.join(__dirname, '..', '..', 'src', 'inference', 'ts-require.cjs'))();
const fs = require('node:fs');
require('reflect-metadata');
const pino = require('pino');
const { loadConfig } = require(path.join(__dirname, '..', '..', 'src', 'config', 'config.ts'));
const { createTestApp, registerGray } = require(path.join(__dirname, 'test-app.ts'));

(async () => {
  /** @type {any[]} */
  const logs = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const inference = loadConfig({ INFERENCE_SPINNING: 'false', EXECUTION_PROVIDERS: 'webgpu,cpu' }).inference;
  const t = await createTestApp({ config: { inference }, logger: pino({ level: 'warn' }, sink) });
  try {
    await registerGray(t);
    const ref = { model: 'gray', version: 1 };
    const loaded = await t.gql(
      'mutation($ref: VersionRefInput!) { loadVersion(ref: $ref) { executionProvider state } }',
      { ref },
      t.keys.admin,
    );
    const image = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'images', 'gray-29x31.png'));
    const predicted = await t.gql(
      'query($ref: VersionRefInput!, $image: ImageInput!) { predict(ref: $ref, image: $image) { executionProvider } }',
      { ref, image: { base64: image.toString('base64') } },
      t.keys.viewer,
    );
    const warnings = logs.filter((l) => l.level === 40).map((l) => ({ msg: l.msg, provider: l.provider }));
    process.stdout.write(`\n${JSON.stringify({ loaded, predicted, warnings })}\n`);
  } finally {
    await t.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
