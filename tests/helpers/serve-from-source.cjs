// @ts-check
// `modelgate <args>` from the TypeScript sources, without a build: tests spawn real gateway processes
// with it (node tests/helpers/serve-from-source.cjs serve). Each .ts module is transpiled as it is
// loaded, with the decorator settings of tsconfig.json that type-graphql needs (design-type
// metadata); worker threads register src/inference/ts-require.cjs themselves.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  useDefineForClassFields: false,
  sourceMap: false,
};
require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { fileName: filename, compilerOptions });
  /** @type {any} */ (module)._compile(outputText, filename);
};

const { main } = require(path.join(__dirname, '..', '..', 'src', 'cli', 'main.ts'));
main(process.argv).then((/** @type {number} */ status) => {
  if (status !== 0) process.exit(status);
});
