import { Writable } from 'node:stream';
import pino from 'pino';
import type { ModelInspector } from '../../src/registry/model-inspector';
import { createTestApp, dbKind, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

/** An inspector that fails the way a bug would: with an unexpected error. */
const brokenInspector: ModelInspector = {
  inspect: async () => {
    throw new Error('segfault in /opt/secret/libonnx.so');
  },
};

const REGISTER = `mutation($file: String!) { registerVersion(input: { model: "gray", artifactPath: $file }) { version } }`;

function capturingLogger() {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level: 'error' }, stream), lines };
}

describe(`error reporting (${dbKind()})`, () => {
  let t: TestApp | undefined;
  afterEach(() => t?.close());

  it('masks unexpected errors for clients and logs them in full with the request id', async () => {
    const { logger, lines } = capturingLogger();
    t = await createTestApp({ inspector: brokenInspector, logger });
    await t.app.services.models.register(t.app.localActor(), GRAY_MODEL);
    const result = await t.gql(REGISTER, { file: fixture('gray8x8-3class.onnx') }, t.keys.admin);
    const error = result.errors![0]!;
    expect(error.message).toBe('Internal server error');
    expect(error.extensions!.code).toBe('INTERNAL_SERVER_ERROR');
    expect(error.extensions!.stacktrace).toBeUndefined();
    expect(JSON.stringify(result)).not.toContain('secret');
    const logged = lines.find((l) => l.msg === 'internal error');
    expect(logged.requestId).toBe(error.extensions!.requestId);
    expect(logged.err.message).toContain('segfault in /opt/secret/libonnx.so');
    expect(logged.err.stack).toBeDefined();
  });

  it('shows the message and stack trace in development only', async () => {
    t = await createTestApp({ inspector: brokenInspector, config: { nodeEnv: 'development' } });
    await t.app.services.models.register(t.app.localActor(), GRAY_MODEL);
    const error = (await t.gql(REGISTER, { file: fixture('gray8x8-3class.onnx') }, t.keys.admin)).errors![0]!;
    expect(error.extensions!.code).toBe('INTERNAL_SERVER_ERROR');
    expect(error.message).toContain('segfault');
    expect(Array.isArray(error.extensions!.stacktrace)).toBe(true);
  });

  it("keeps Apollo's own codes for malformed operations and variables", async () => {
    t = await createTestApp();
    expect((await t.gql(`{ models { name `, {}, t.keys.admin)).errors![0]!.extensions!.code).toBe(
      'GRAPHQL_PARSE_FAILED',
    );
    expect((await t.gql(`{ nope }`, {}, t.keys.admin)).errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const badVar = await t.gql(
      `mutation($v: Int!) { setAlias(model: "m", alias: "a", version: $v) { name } }`,
      { v: 'one' },
      t.keys.admin,
    );
    expect(badVar.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('gives every error a documented code and a request id', async () => {
    t = await createTestApp();
    const documented = [
      'BAD_USER_INPUT',
      'NOT_FOUND',
      'CONFLICT',
      'UNAUTHENTICATED',
      'FORBIDDEN',
      'INTERNAL_SERVER_ERROR',
    ];
    const results = await Promise.all([
      t.gql(`{ model(name: "x") { name } }`, {}, t.keys.admin),
      t.gql(`{ models { name } }`),
      t.gql(`{ apiKeys { name } }`, {}, t.keys.viewer),
      t.gql(`mutation { registerModel(input: { name: "x", labels: [], inputSpec: {} }) { name } }`, {}, t.keys.admin),
    ]);
    for (const r of results) {
      expect(documented).toContain(r.errors![0]!.extensions!.code);
      expect(typeof r.errors![0]!.extensions!.requestId).toBe('string');
    }
  });
});
