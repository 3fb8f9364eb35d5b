import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  createTestApp,
  expectData,
  expectError,
  fixture,
  GRAY_MODEL,
  type TestApp,
} from '../helpers/test-app';

const PNG = readFileSync(path.join(__dirname, '..', 'fixtures', 'images', 'gray-29x31.png')).toString('base64');

const ARM_FIELDS = `name weight isControl active stoppedReason requests errors errorsByCode latencyP50Ms latencyP99Ms
  feedbackCount correct accuracy agreement modelVersion { version }
  test { method pValue estimate confidenceSequence samples controlOnlyRight candidateOnlyRight decision }`;
const FIELDS = `id name mode status decision decisionReason alpha minSamples autoPromote promotedVersion
  guardrails { maxErrorRate maxLatencyP99Ms minRequests } model { name }
  control { name } arms { ${ARM_FIELDS} }`;
const START = `mutation($input: StartExperimentInput!) { startExperiment(input: $input) { ${FIELDS} } }`;
const GET = `query($id: ID!) { experiment(id: $id) { ${FIELDS} series { arm feedback correct accuracy pValue csLow csHigh } } }`;
const STOP = `mutation($id: ID!, $promote: Boolean) { stopExperiment(id: $id, promote: $promote) { ${FIELDS} } }`;
const PREDICT = `query($ref: VersionRefInput!, $key: String) {
  predict(ref: $ref, image: { base64: "${PNG}" }, routingKey: $key, topK: 1) { id resolvedBy modelVersion { version } top { label probability } } }`;
const PREDICT_BATCH = `query($ref: VersionRefInput!, $key: String, $n: Int!) { predictBatch(ref: $ref, images: [${'{ base64: "' + PNG + '" }'}], routingKey: $key, topK: 1) { id resolvedBy modelVersion { version } } }`;
const FEEDBACK = `mutation($id: ID!, $label: String!) { recordFeedback(predictionId: $id, label: $label) { predictionId label created recordedAt } }`;
const FEEDBACK_BATCH = `mutation($items: [FeedbackInput!]!) { recordFeedbackBatch(feedback: $items) { predictionId label created } }`;
const HISTORY = `query { model(name: "gray") { aliasHistory { alias fromVersion toVersion actor reason } } }`;

/** gray v1 (baseline), v2 (the same weights with a batch-1 graph): arms that answer alike, so feedback alone decides. */
async function grayWithTwoVersions(t: TestApp): Promise<void> {
  const admin = t.app.localActor();
  await t.app.services.models.register(admin, GRAY_MODEL);
  await t.app.services.versions.register(admin, { model: 'gray', artifactPath: fixture('gray8x8-3class.onnx') });
  await t.app.services.versions.register(admin, { model: 'gray', artifactPath: fixture('gray8x8-3class-batch1.onnx') });
  await t.app.services.aliases.set(admin, 'gray', 'baseline', 1);
  await t.app.services.aliases.set(admin, 'gray', 'champion', 1);
}

describe('online experiments', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
    await grayWithTwoVersions(t);
  });
  afterEach(() => t.close());

  test('a SPLIT experiment routes unversioned predictions, logs them and takes feedback', async () => {
    const started = expectData(
      await t.gql(
        START,
        { input: { model: 'gray', name: 'v2 vs baseline', arms: [{ name: 'v2', ref: { model: 'gray', version: 2 }, weight: 0.5 }], seed: 7 } },
        t.keys.operator,
      ),
    ).startExperiment;
    expect(started.control.name).toBe('control');
    expect(started.arms.map((a: any) => [a.name, a.weight, a.isControl])).toEqual([
      ['control', 0.5, true],
      ['v2', 0.5, false],
    ]);
    const preds = [];
    for (let i = 0; i < 20; i++) preds.push(expectData(await t.gql(PREDICT, { ref: { model: 'gray' } }, t.keys.viewer)).predict);
    expect(new Set(preds.map((p: any) => p.resolvedBy))).toEqual(
      new Set([`experiment:${started.id}/control`, `experiment:${started.id}/v2`]),
    );
    for (const p of preds) expect(p.id).toMatch(/^[0-9a-f-]{36}$/);
    const f = expectData(await t.gql(FEEDBACK, { id: preds[0].id, label: 'circle' }, t.keys.operator)).recordFeedback;
    expect(f.created).toBe(true);
    await t.app.services.experiments['deps'].monitor.settle();
    const got = expectData(await t.gql(GET, { id: started.id }, t.keys.viewer)).experiment;
    console.log(JSON.stringify(got, null, 1));
  });
});
