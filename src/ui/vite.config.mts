import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The admin UI is built into dist/ui and served by the gateway itself (same origin as /graphql).
export default defineConfig({
  root: here('.'),
  base: '/',
  // No dev-only React plugin: Vite's own transformer compiles TSX with the automatic runtime.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: here('../../dist/ui'),
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      input: { main: here('index.html'), graphiql: here('graphiql.html') },
      // GraphiQL's dependencies mark modules "use client" (a server-components hint that means nothing here).
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: {
    // `npm run dev:ui` against a gateway on :4000.
    proxy: { '/graphql': { target: 'http://localhost:4000', ws: true }, '/auth': 'http://localhost:4000' },
  },
});
