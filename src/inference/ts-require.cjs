// @ts-check
// Lets a worker thread started from src/ (the test suite runs the TypeScript sources, and a worker
// thread does not go through jest's transform), or a process a test spawns from the sources,
// require .ts modules: each is transpiled as it is loaded, with tsconfig.json's decorator settings
// (type-graphql needs the design-type metadata). The build copies compiled .js beside the workers,
// which never load this file.
'use strict';
const fs = require('node:fs');

module.exports = function registerTypeScript() {
  if (require.extensions['.ts']) return;
  const ts = require('typescript');
  require.extensions['.ts'] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        useDefineForClassFields: false,
        sourceMap: false,
      },
    });
    /** @type {any} */ (module)._compile(outputText, filename);
  };
};
