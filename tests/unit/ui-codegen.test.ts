import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

describe("the admin UI's generated operation types (src/ui/gql)", () => {
  it('are what GraphQL Code Generator makes of schema.graphql and the UI’s operations (run `npm run codegen`)', () => {
    // --check exits non-zero when a generated file would change; every operation is also validated against the schema.
    let output = '';
    try {
      execFileSync(
        process.execPath,
        [
          path.join(ROOT, 'node_modules', '@graphql-codegen', 'cli', 'cjs', 'bin.js'),
          '--config',
          'src/ui/codegen.ts',
          '--check',
        ],
        {
          cwd: ROOT,
          encoding: 'utf8',
          stdio: 'pipe',
        },
      );
    } catch (e) {
      output = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
    }
    expect(output).toBe('');
  }, 120_000);
});
