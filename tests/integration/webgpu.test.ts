import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/config';
import { seedDemo } from '../../src/importers/demo';
import { createTestApp, dbKind, expectData, expectError, type TestApp } from '../helpers/test-app';
import { vulkanAvailable } from '../helpers/vulkan';

const PREDICT_BATCH = `query($ref: VersionRefInput!, $images: [ImageInput!]!) {
  predictBatch(ref: $ref, images: $images, topK: 10) { executionProvider top { index probability } } }`;
const LOAD = `mutation($ref: VersionRefInput!) { loadVersion(ref: $ref) { executionProvider state modelVersion { version } } }`;
const LOADED = `{ loadedVersions { modelVersion { version } executionProvider } }`;
const SET = `mutation($ref: VersionRefInput!, $providers: [String!]) {
  setVersionExecutionProviders(ref: $ref, providers: $providers) { version executionProviders } }`;

/** On a machine with Vulkan (lavapipe in CI: software, so a correctness path, not a speed one). */
const run = vulkanAvailable() ? describe : describe.skip;

run(`the WebGPU execution provider (${dbKind()})`, () => {
  let t: TestApp;
  let smoke: Buffer[];
  const ref = (version: number) => ({ model: 'fashion-classifier', version });

  /** Every class's probability for each smoke image, and the provider that ran them (MAX_BATCH_IMAGES is 64). */
  async function scores(version: number): Promise<{ providers: string[]; probs: number[][] }> {
    const out: any[] = [];
    for (let i = 0; i < smoke.length; i += 50) {
      const images = smoke.slice(i, i + 50).map((b) => ({ base64: b.toString('base64') }));
      out.push(...expectData(await t.gql(PREDICT_BATCH, { ref: ref(version), images }, t.keys.viewer)).predictBatch);
    }
    return {
      providers: [...new Set(out.map((p) => p.executionProvider as string))],
      probs: out.map((p) => {
        const row = new Array<number>(10);
        for (const s of p.top) row[s.index] = s.probability;
        return row;
      }),
    };
  }
  const maxDiff = (a: number[][], b: number[][]) =>
    Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));
  const loaded = async () =>
    (expectData(await t.gql(LOADED, {}, t.keys.viewer)).loadedVersions as any[])
      .map((l) => [l.modelVersion.version, l.executionProvider])
      .sort();

  beforeAll(async () => {
    // EXECUTION_PROVIDERS read as the gateway reads its environment.
    const inference = loadConfig({
      INFERENCE_SPINNING: 'false',
      SPEED_MEASURE_MS: '50',
      EXECUTION_PROVIDERS: 'webgpu,cpu',
    }).inference;
    t = await createTestApp({ config: { inference } });
    await seedDemo(t.app);
    t.app.startWorkers();
    const dataset = await t.app.db.prisma.dataset.findFirstOrThrow({
      where: { name: 'fashion-smoke' },
      include: { items: { orderBy: { ordinal: 'asc' } } },
    });
    smoke = dataset.items.map((i) =>
      readFileSync(path.join(t.dataDir, 'artifacts', 'sha256', i.sha256.slice(0, 2), i.sha256)),
    );
  }, 180_000);
  afterAll(() => t?.close());

  it('loads the demo small CNNs on webgpu with EXECUTION_PROVIDERS=webgpu,cpu and says so in loadedVersions', async () => {
    for (const version of [2, 3])
      expect(expectData(await t.gql(LOAD, { ref: ref(version) }, t.keys.admin)).loadVersion).toMatchObject({
        executionProvider: 'webgpu',
        state: 'READY',
      });
    expect(await loaded()).toEqual(
      expect.arrayContaining([
        [2, 'webgpu'],
        [3, 'webgpu'],
      ]),
    );
  }, 120_000);

  it('scores the smoke set on webgpu within 1e-4 of the CPU provider; a per-version preference switches a loaded version', async () => {
    for (const version of [2, 3]) {
      const gpu = await scores(version);
      expect(gpu.providers).toEqual(['webgpu']);
      // The version's own preference: it is unloaded at once and loads on the CPU on next use.
      expect(expectData(await t.gql(SET, { ref: ref(version), providers: ['cpu'] }, t.keys.admin))).toEqual({
        setVersionExecutionProviders: { version, executionProviders: ['cpu'] },
      });
      expect((await loaded()).map(([v]) => v)).not.toContain(version);
      const cpu = await scores(version);
      expect(cpu.providers).toEqual(['cpu']);
      expect(cpu.probs).toHaveLength(100);
      expect(maxDiff(gpu.probs, cpu.probs)).toBeLessThan(1e-4);
      // Same top-1 on every image: the two providers agree, not only on average.
      const top1 = (p: number[][]) => p.map((row) => row.indexOf(Math.max(...row)));
      expect(top1(gpu.probs)).toEqual(top1(cpu.probs));
    }
    expect(await loaded()).toEqual(
      expect.arrayContaining([
        [2, 'cpu'],
        [3, 'cpu'],
      ]),
    );
    // Cleared (null): the gateway's EXECUTION_PROVIDERS again, shown as null.
    expect(expectData(await t.gql(SET, { ref: ref(2), providers: null }, t.keys.admin))).toEqual({
      setVersionExecutionProviders: { version: 2, executionProviders: null },
    });
    expect((await scores(2)).providers).toEqual(['webgpu']);
    expect(
      expectData(
        await t.gql(
          `{ modelVersion(ref: { model: "fashion-classifier", version: 3 }) { executionProviders } }`,
          {},
          t.keys.viewer,
        ),
      ),
    ).toEqual({ modelVersion: { executionProviders: ['cpu'] } });
  }, 180_000);

  it('refuses a provider the runtime does not know (BAD_USER_INPUT) and any caller below admin (FORBIDDEN)', async () => {
    const bad = expectError(
      await t.gql(SET, { ref: ref(1), providers: ['webgpu', 'opencl'] }, t.keys.admin),
      'BAD_USER_INPUT',
    );
    expect(bad.message).toMatch(/opencl/);
    expectError(await t.gql(SET, { ref: ref(1), providers: ['webgpu'] }, t.keys.operator), 'FORBIDDEN');
    expect(
      expectData(
        await t.gql(
          `{ modelVersion(ref: { model: "fashion-classifier", version: 1 }) { executionProviders } }`,
          {},
          t.keys.viewer,
        ),
      ),
    ).toEqual({ modelVersion: { executionProviders: null } });
  });

  it('runs a comparison with both versions on webgpu', async () => {
    expectData(await t.gql(SET, { ref: ref(3), providers: ['webgpu'] }, t.keys.admin));
    const started = expectData(
      await t.gql(
        `mutation($input: StartComparisonInput!) { startComparison(input: $input) { id } }`,
        { input: { candidate: ref(3), baseline: ref(2), dataset: 'fashion-smoke' } },
        t.keys.operator,
      ),
    ).startComparison;
    let c: any;
    for (const deadline = Date.now() + 150_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      c = expectData(
        await t.gql(
          `query($id: ID!) { comparison(id: $id) { status n baselineMetrics { accuracy speed { executionProvider } } candidateMetrics { accuracy speed { executionProvider } } } }`,
          { id: started.id },
          t.keys.viewer,
        ),
      ).comparison;
      if (!['QUEUED', 'RUNNING'].includes(c.status)) break;
    }
    expect(c).toMatchObject({
      status: 'SUCCEEDED',
      n: 100,
      baselineMetrics: { speed: { executionProvider: 'webgpu' } },
      candidateMetrics: { speed: { executionProvider: 'webgpu' } },
    });
    // The recorded smoke accuracies of v2 and v3 (92 and 93), within 3 points, as on the CPU.
    expect(Math.abs(c.baselineMetrics.accuracy * 100 - 92)).toBeLessThanOrEqual(3);
    expect(Math.abs(c.candidateMetrics.accuracy * 100 - 93)).toBeLessThanOrEqual(3);
  }, 180_000);

  it('without a Vulkan driver (VK_ICD_FILENAMES pointing nowhere, in a gateway process of its own) falls back to the CPU, logs why and reports cpu', async () => {
    const nowhere = '/nonexistent/modelgate-no-vulkan-driver.json';
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(__dirname, '..', 'helpers', 'gateway-without-vulkan.cjs')],
      { env: { ...process.env, VK_ICD_FILENAMES: nowhere, VK_DRIVER_FILES: nowhere }, timeout: 120_000 },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.loaded).toEqual({ data: { loadVersion: { executionProvider: 'cpu', state: 'READY' } } });
    expect(result.predicted).toEqual({ data: { predict: { executionProvider: 'cpu' } } });
    expect(result.warnings).toEqual([
      {
        provider: 'cpu',
        msg: expect.stringMatching(
          /^execution provider unavailable for gray v1, fell back: webgpu: .*No supported adapters/,
        ),
      },
    ]);
  }, 150_000);
});
