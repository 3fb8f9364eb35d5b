import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed operations from the committed schema file; `npm run codegen` rewrites src/ui/gql, a test fails when it is stale.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/ui/**/*.{ts,tsx}', '!src/ui/gql/**'],
  ignoreNoDocuments: true,
  generates: {
    'src/ui/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        // Documents as strings: graphql-js stays out of the browser bundle.
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: 'string', JSON: 'unknown', Upload: 'File' },
      },
    },
  },
};
export default config;
