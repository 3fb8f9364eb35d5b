import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  createTestApp,
  expectData,
  expectError,
  GRAY_MODEL,
  grayWithTwoVersions,
  type TestApp,
} from '../helpers/test-app';
import { ExperimentRepository, type LoggedPrediction } from '../../src/experiments/experiment.repository';

const PNG = readFileSync(path.join(__dirname, '..', 'fixtures', 'images', 'gray-29x31.png')).toString('base64');
const LABELS = GRAY_MODEL.labels;
const EXPERIMENTS = { retentionMs: 30 * 86_400_000, logFlushMs: 200, monitorMs: 1000, shadowConcurrency: 2 };

const ARM_FIELDS = `name weight isControl active stoppedReason requests errors shadowDropped errorsByCode latencyP50Ms latencyP99Ms
  feedbackCount correct accuracy agreement modelVersion { version }
  test { method pValue estimate confidenceSequence samples controlOnlyRight candidateOnlyRight decision }`;
const FIELDS = `id name mode status decision decisionReason alpha minSamples autoPromote promotedVersion stoppedBy
  guardrails { maxErrorRate maxLatencyP99Ms minRequests } model { name }
  control { name } arms { ${ARM_FIELDS} }`;
const START = `mutation($input: StartExperimentInput!) { startExperiment(input: $input) { ${FIELDS} } }`;
const GET = `query($id: ID!) { experiment(id: $id) { ${FIELDS} series(points: 1000) { arm feedback correct accuracy pValue csLow csHigh } } }`;
const LIST = `query($model: String, $status: ExperimentStatus) { experiments(model: $model, status: $status) { id status } }`;
const STOP = `mutation($id: ID!, $promote: Boolean) { stopExperiment(id: $id, promote: $promote) { ${FIELDS} } }`;
const PREDICT = `query($ref: VersionRefInput!, $key: String) {
  predict(ref: $ref, image: { base64: "${PNG}" }, routingKey: $key, topK: 1) { id resolvedBy modelVersion { version } top { label probability } } }`;
const PREDICT_BATCH = `query($ref: VersionRefInput!, $key: String) {
  predictBatch(ref: $ref, images: [{ base64: "${PNG}" }, { base64: "${PNG}" }, { base64: "${PNG}" }], routingKey: $key, topK: 1) { id resolvedBy } }`;
const FEEDBACK = `mutation($id: ID!, $label: String!) { recordFeedback(predictionId: $id, label: $label) { predictionId label created recordedAt } }`;
const FEEDBACK_BATCH = `mutation($items: [FeedbackInput!]!) { recordFeedbackBatch(feedback: $items) { predictionId label created } }`;
const HISTORY = `query { model(name: "gray") { aliases { name version { version } } aliasHistory { alias fromVersion toVersion actor reason } } }`;

interface Pred {
  id: string | null;
  resolvedBy: string;
  modelVersion: { version: number };
  top: { label: string; probability: number }[];
}

const split = (extra: Record<string, unknown> = {}) => ({
  model: 'gray',
  name: 'v2 vs baseline',
  arms: [{ name: 'v2', ref: { model: 'gray', version: 2 }, weight: 0.5 }],
  seed: 7,
  ...extra,
});

describe('online experiments', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
    await grayWithTwoVersions(t);
  });
  afterEach(() => t.close());

  const start = async (input: Record<string, unknown>, key = t.keys.admin) =>
    expectData(await t.gql(START, { input }, key)).startExperiment;
  const predict = async (ref: Record<string, unknown>, key?: string): Promise<Pred> =>
    expectData(await t.gql(PREDICT, { ref, key: key ?? null }, t.keys.viewer)).predict;
  const get = async (id: string) => {
    await t.app.services.experiments.settle();
    return expectData(await t.gql(GET, { id }, t.keys.viewer)).experiment;
  };
  /** Feedback that makes `winner`'s answers right and every other arm's wrong. */
  const judge = async (preds: Pred[], winner: (p: Pred) => boolean) => {
    const items = preds.map((p) => {
      const answer = p.top[0]!.label;
      return { predictionId: p.id, label: winner(p) ? answer : LABELS.find((l) => l !== answer)! };
    });
    return expectData(await t.gql(FEEDBACK_BATCH, { items }, t.keys.operator)).recordFeedbackBatch;
  };

  test('SPLIT: unversioned predictions are routed and logged; the control is added from the baseline alias', async () => {
    const e = await start(split(), t.keys.operator);
    expect(e).toMatchObject({ mode: 'SPLIT', status: 'RUNNING', decision: 'CONTINUE', alpha: 0.05, minSamples: 100 });
    expect(e.control.name).toBe('control');
    expect(e.arms.map((a: any) => [a.name, a.weight, a.isControl, a.modelVersion.version])).toEqual([
      ['control', 0.5, true, 1],
      ['v2', 0.5, false, 2],
    ]);
    const preds: Pred[] = [];
    for (let i = 0; i < 30; i++) preds.push(await predict({ model: 'gray' }));
    const arms = new Set(preds.map((p) => p.resolvedBy));
    expect(arms).toEqual(new Set([`experiment:${e.id}/control`, `experiment:${e.id}/v2`]));
    for (const p of preds) {
      expect(p.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(p.modelVersion.version).toBe(p.resolvedBy.endsWith('/v2') ? 2 : 1);
    }
    const batch = expectData(
      await t.gql(PREDICT_BATCH, { ref: { model: 'gray' }, key: 'user-1' }, t.keys.viewer),
    ).predictBatch;
    expect(batch).toHaveLength(3);
    expect(new Set(batch.map((p: Pred) => p.resolvedBy)).size).toBe(1);
    expect(new Set(batch.map((p: Pred) => p.id)).size).toBe(3);

    const got = await get(e.id);
    expect(got.arms.reduce((n: number, a: any) => n + a.requests, 0)).toBe(33);
    for (const a of got.arms) {
      expect(a.errors).toBe(0);
      if (a.requests) expect(a.latencyP50Ms).toBeGreaterThan(0);
    }
    expect(expectData(await t.gql(LIST, { model: 'gray', status: 'RUNNING' }, t.keys.viewer)).experiments).toEqual([
      { id: e.id, status: 'RUNNING' },
    ]);
    const metrics = await t.app.metrics.text();
    expect(metrics).toMatch(
      new RegExp(
        `modelgate_experiment_requests_total\\{experiment="${e.id}",arm="v2",kind="answer",outcome="OK"\\} \\d+`,
      ),
    );
    expect(metrics).toMatch(/modelgate_experiment_log_rows\{state="written"\} [1-9]/);
  });

  test('routing: sticky by routing key, weights within binomial bounds, explicit refs never rerouted', async () => {
    const e = await start(split({ arms: [{ name: 'v2', ref: { model: 'gray', version: 2 }, weight: 0.2 }] }));
    // The same key always gets the same arm.
    for (const key of ['alice', 'bob', 'carol', 'dave']) {
      const first = (await predict({ model: 'gray' }, key)).resolvedBy;
      for (let i = 0; i < 4; i++) expect((await predict({ model: 'gray' }, key)).resolvedBy).toBe(first);
    }
    // 400 distinct keys: v2's share is 0.2; 4.5 standard deviations either side.
    let v2 = 0;
    const n = 400;
    for (let i = 0; i < n; i++) if ((await predict({ model: 'gray' }, `key-${i}`)).resolvedBy.endsWith('/v2')) v2++;
    const sd = Math.sqrt(n * 0.2 * 0.8);
    expect(Math.abs(v2 - n * 0.2)).toBeLessThan(4.5 * sd);
    // Explicit versions and aliases resolve as always, unlogged.
    const byVersion = await predict({ model: 'gray', version: 2 });
    expect(byVersion).toMatchObject({ resolvedBy: 'version', id: null });
    const byAlias = await predict({ model: 'gray', alias: 'champion' });
    expect(byAlias).toMatchObject({ resolvedBy: 'alias:champion', id: null, modelVersion: { version: 1 } });
    const got = await get(e.id);
    expect(got.arms.reduce((s: number, a: any) => s + a.requests, 0)).toBe(20 + n);
    // Without a key, the seeded draw also follows the weights.
    let drawn = 0;
    for (let i = 0; i < 200; i++) if ((await predict({ model: 'gray' })).resolvedBy.endsWith('/v2')) drawn++;
    expect(Math.abs(drawn - 40)).toBeLessThan(4.5 * Math.sqrt(200 * 0.2 * 0.8));
    // Stopped: the model's default resolution is back.
    expectData(await t.gql(STOP, { id: e.id }, t.keys.operator));
    expect(await predict({ model: 'gray' }, 'alice')).toMatchObject({ resolvedBy: 'default', id: null });
  });

  test('feedback: labels checked, repeats idempotent, a different label a CONFLICT, batches all or nothing', async () => {
    const e = await start(split());
    const [a, b] = [await predict({ model: 'gray' }), await predict({ model: 'gray' })];
    const first = expectData(await t.gql(FEEDBACK, { id: a.id, label: 'circle' }, t.keys.operator)).recordFeedback;
    expect(first).toMatchObject({ predictionId: a.id, label: 'circle', created: true });
    const again = expectData(await t.gql(FEEDBACK, { id: a.id, label: 'circle' }, t.keys.operator)).recordFeedback;
    expect(again).toMatchObject({ created: false, recordedAt: first.recordedAt });
    expect(
      expectError(await t.gql(FEEDBACK, { id: a.id, label: 'square' }, t.keys.operator), 'CONFLICT').message,
    ).toMatch(/already has feedback "circle"/);
    expect(
      expectError(await t.gql(FEEDBACK, { id: b.id, label: 'hexagon' }, t.keys.operator), 'BAD_USER_INPUT').message,
    ).toMatch(/not a label of the model \(circle, square, triangle\)/);
    expectError(await t.gql(FEEDBACK, { id: 'not-a-uuid', label: 'circle' }, t.keys.operator), 'BAD_USER_INPUT');
    expectError(
      await t.gql(FEEDBACK, { id: '00000000-0000-4000-8000-000000000000', label: 'circle' }, t.keys.operator),
      'NOT_FOUND',
    );
    expectError(await t.gql(FEEDBACK, { id: b.id, label: 'circle' }, t.keys.viewer), 'FORBIDDEN');
    // One bad item: nothing of the batch is recorded.
    expectError(
      await t.gql(
        FEEDBACK_BATCH,
        {
          items: [
            { predictionId: b.id, label: 'square' },
            { predictionId: a.id, label: 'triangle' },
          ],
        },
        t.keys.operator,
      ),
      'CONFLICT',
    );
    const got = await get(e.id);
    expect(got.arms.reduce((s: number, x: any) => s + x.feedbackCount, 0)).toBe(1);
    const ok = expectData(
      await t.gql(
        FEEDBACK_BATCH,
        {
          items: [
            { predictionId: b.id, label: 'square' },
            { predictionId: a.id, label: 'circle' },
          ],
        },
        t.keys.operator,
      ),
    ).recordFeedbackBatch;
    expect(ok.map((f: any) => f.created)).toEqual([true, false]);
    expect((await get(e.id)).arms.reduce((s: number, x: any) => s + x.feedbackCount, 0)).toBe(2);
  });

  test('feedback drives the decision; autoPromote moves champion, recorded with the experiment as the reason', async () => {
    const e = await start(split({ minSamples: 15, autoPromote: true }));
    const preds: Pred[] = [];
    for (let i = 0; i < 80; i++) preds.push(await predict({ model: 'gray' }, `u${i}`));
    // Feedback in a few rounds: the test decides as it goes, and the p-value never rises.
    for (let i = 0; i < preds.length; i += 20) {
      await judge(preds.slice(i, i + 20), (p) => p.resolvedBy.endsWith('/v2'));
      await t.app.services.experiments.settle();
    }
    const got = await get(e.id);
    expect(got).toMatchObject({
      status: 'STOPPED',
      decision: 'CANDIDATE_BETTER',
      promotedVersion: 2,
      stoppedBy: 'experiment test',
    });
    expect(got.decisionReason).toMatch(/v2 is better than control/);
    const v2 = got.arms.find((a: any) => a.name === 'v2');
    expect(v2.test.decision).toBe('CANDIDATE_BETTER');
    expect(v2.test.pValue).toBeLessThanOrEqual(0.05);
    expect(v2.test.estimate).toBeGreaterThan(0.5);
    expect(v2.test.confidenceSequence[0]).toBeGreaterThan(0);
    expect(v2.accuracy).toBe(1);
    expect(got.arms.find((a: any) => a.isControl).accuracy).toBe(0);
    const series = got.series.filter((p: any) => p.arm === 'v2');
    expect(series.length).toBeGreaterThan(1);
    for (let i = 1; i < series.length; i++) {
      expect(series[i].pValue).toBeLessThanOrEqual(series[i - 1].pValue);
      expect(series[i].feedback).toBeGreaterThanOrEqual(series[i - 1].feedback);
    }
    const model = expectData(await t.gql(HISTORY, {}, t.keys.viewer)).model;
    expect(model.aliases.find((a: any) => a.name === 'champion').version.version).toBe(2);
    const move = model.aliasHistory.find((h: any) => h.alias === 'champion' && h.toVersion === 2);
    expect(move).toMatchObject({ fromVersion: 1, actor: `experiment:${e.id}` });
    expect(move.reason).toMatch(new RegExp(`^experiment ${e.id} "v2 vs baseline": v2 won`));
    // The experiment is over: the model's default (now champion v2) serves, unlogged.
    expect(await predict({ model: 'gray' })).toMatchObject({
      resolvedBy: 'default',
      id: null,
      modelVersion: { version: 2 },
    });
  });

  test('the control winning is CONTROL_BETTER; stop with promote then refuses, stop without it keeps the decision', async () => {
    const e = await start(split({ minSamples: 10 }));
    const preds: Pred[] = [];
    for (let i = 0; i < 60; i++) preds.push(await predict({ model: 'gray' }, `k${i}`));
    await judge(preds, (p) => p.resolvedBy.endsWith('/control'));
    const got = await get(e.id);
    expect(got).toMatchObject({ status: 'RUNNING', decision: 'CONTROL_BETTER' });
    expect(got.arms.find((a: any) => a.name === 'v2').test.confidenceSequence[1]).toBeLessThan(0);
    expect(expectError(await t.gql(STOP, { id: e.id, promote: true }, t.keys.admin), 'BAD_USER_INPUT').message).toMatch(
      /no arm .* is significantly better/,
    );
    const stopped = expectData(await t.gql(STOP, { id: e.id }, t.keys.operator)).stopExperiment;
    expect(stopped).toMatchObject({ status: 'STOPPED', decision: 'CONTROL_BETTER', promotedVersion: null });
    expectError(await t.gql(STOP, { id: e.id }, t.keys.operator), 'CONFLICT');
  });

  test('stopExperiment with promote moves champion to the significant winner', async () => {
    const e = await start(split({ minSamples: 10 }));
    const preds: Pred[] = [];
    for (let i = 0; i < 60; i++) preds.push(await predict({ model: 'gray' }, `k${i}`));
    await judge(preds, (p) => p.resolvedBy.endsWith('/v2'));
    expect((await get(e.id)).decision).toBe('CANDIDATE_BETTER');
    // Moving champion (a pinned alias) needs admin.
    expectError(await t.gql(STOP, { id: e.id, promote: true }, t.keys.operator), 'FORBIDDEN');
    const stopped = expectData(await t.gql(STOP, { id: e.id, promote: true }, t.keys.admin)).stopExperiment;
    expect(stopped).toMatchObject({ status: 'STOPPED', decision: 'CANDIDATE_BETTER', promotedVersion: 2 });
    const history = expectData(await t.gql(HISTORY, {}, t.keys.viewer)).model.aliasHistory;
    expect(history.find((h: any) => h.alias === 'champion' && h.toVersion === 2).reason).toMatch(
      new RegExp(`^experiment ${e.id} .*promoted by test-admin`),
    );
  });

  test('SHADOW: the control always answers; candidates run on the same image off the response path, paired by feedback', async () => {
    // Room for every shadow run (by default at most 2 run at once; the next test shows what happens past it).
    await t.close();
    t = await createTestApp({ config: { experiments: { ...EXPERIMENTS, shadowConcurrency: 64 } } });
    await grayWithTwoVersions(t);
    const e = await start({
      model: 'gray',
      name: 'v2 shadow',
      mode: 'SHADOW',
      arms: [{ name: 'v2', ref: { model: 'gray', version: 2 }, weight: 1 }],
      minSamples: 10,
    });
    const alone = await predict({ model: 'gray', version: 1 });
    const preds: Pred[] = [];
    for (let i = 0; i < 40; i++) {
      const p = await predict({ model: 'gray' }, `s${i}`);
      // Shadow never changes the answer.
      expect(p.resolvedBy).toBe(`experiment:${e.id}/control`);
      expect(p.top).toEqual(alone.top);
      preds.push(p);
    }
    // Shadow runs finish in the background (the monitor's pass flushes the log).
    const v2 = async () => (await get(e.id)).arms.find((a: any) => a.name === 'v2');
    for (let i = 0; i < 200 && (await v2()).requests < 40; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await v2()).toMatchObject({ requests: 40, shadowDropped: 0, errors: 0, agreement: 1 });
    // Feedback on the answer judges every arm's answer for that image: here both right, or both wrong.
    await judge(preds.slice(0, 20), (p) => parseInt(p.id!.slice(-1), 16) % 2 === 0);
    const got = await get(e.id);
    expect(got.arms.find((a: any) => a.isControl).feedbackCount).toBe(20);
    const after = got.arms.find((a: any) => a.name === 'v2');
    expect(after.feedbackCount).toBe(20);
    expect(after.correct).toBe(got.arms.find((a: any) => a.isControl).correct);
    expect(after.test).toMatchObject({ samples: 20, controlOnlyRight: 0, candidateOnlyRight: 0, decision: 'CONTINUE' });
    expect(after.test.method).toMatch(/discordant pairs/);
  });

  test('SHADOW: runs that would delay real traffic are dropped and counted, never run late', async () => {
    await t.close();
    t = await createTestApp({ config: { experiments: { ...EXPERIMENTS, shadowConcurrency: 0 } } });
    await grayWithTwoVersions(t);
    const e = await start({
      model: 'gray',
      name: 'no room',
      mode: 'SHADOW',
      arms: [{ name: 'v2', ref: { model: 'gray', version: 2 }, weight: 0.5 }],
    });
    for (let i = 0; i < 30; i++) await predict({ model: 'gray' }, `d${i}`);
    const v2 = (await get(e.id)).arms.find((a: any) => a.name === 'v2');
    // weight 0.5: about half the requests are mirrored, by routing key; all of them dropped.
    expect(v2.requests).toBe(0);
    expect(v2.shadowDropped).toBeGreaterThan(5);
    expect(v2.shadowDropped).toBeLessThan(25);
    expect(await t.app.metrics.text()).toMatch(
      new RegExp(`modelgate_experiment_shadow_dropped_total\\{experiment="${e.id}",arm="v2"\\} ${v2.shadowDropped}`),
    );
  });

  test('a guardrail breach stops the arm at once; the control serves and the decision says which guardrail', async () => {
    const e = await start(
      split({
        arms: [{ name: 'v2', ref: { model: 'gray', version: 2 }, weight: 0.5 }],
        guardrails: { maxLatencyP99Ms: 0.0001, minRequests: 5 },
      }),
    );
    expect(e.guardrails).toEqual({ maxErrorRate: null, maxLatencyP99Ms: 0.0001, minRequests: 5 });
    const seen: string[] = [];
    for (let i = 0; i < 60; i++) seen.push((await predict({ model: 'gray' }, `g${i}`)).resolvedBy);
    const stopAt = seen.lastIndexOf(`experiment:${e.id}/v2`);
    // v2 served its 10th request (the p99 is judged every 10th), then never again: the control serves.
    expect(seen.filter((r) => r.endsWith('/v2'))).toHaveLength(10);
    expect(seen.slice(stopAt + 1).every((r) => r === `experiment:${e.id}/control`)).toBe(true);
    const got = await get(e.id);
    expect(got).toMatchObject({ status: 'RUNNING', decision: 'GUARDRAIL_BREACHED', stoppedBy: null });
    expect(got.decisionReason).toMatch(/^v2: guardrail maxLatencyP99Ms/);
    const v2 = got.arms.find((a: any) => a.name === 'v2');
    expect(v2).toMatchObject({ active: false });
    expect(v2.stoppedReason).toMatch(
      /^guardrail maxLatencyP99Ms: p99 [\d.]+ ms over the last 10 requests \(limit 0.0001 ms\)$/,
    );
    expect(v2.test.decision).toBe('GUARDRAIL_BREACHED');
    expect(await t.app.metrics.text()).toMatch(
      /modelgate_experiment_guardrail_breaches_total\{experiment="\d+",arm="v2",guardrail="maxLatencyP99Ms"\} 1/,
    );
  });

  test('an error-rate guardrail: a candidate that fails its requests is stopped and its errors counted by code', async () => {
    const e = await start(split({ guardrails: { maxErrorRate: 0.2, minRequests: 3 } }));
    // v2's artifact disappears: loading it fails (MODEL_LOAD_FAILED) on every request routed to it.
    const v2 = await t.app.services.versions.resolve(t.app.localActor(), { model: 'gray', version: 2 });
    const { rmSync } = await import('node:fs');
    rmSync(t.app.artifacts.absolute(v2.version.localPath));
    const codes: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await t.gql(PREDICT, { ref: { model: 'gray' }, key: `e${i}` }, t.keys.viewer);
      codes.push(r.errors ? r.errors[0]!.extensions!.code : 'OK');
    }
    expect(codes.filter((c) => c !== 'OK').length).toBe(3);
    expect(codes.slice(-10).every((c) => c === 'OK')).toBe(true);
    const got = await get(e.id);
    const arm = got.arms.find((a: any) => a.name === 'v2');
    expect(arm.active).toBe(false);
    expect(arm.stoppedReason).toMatch(/^guardrail maxErrorRate: 100.0% of the last 3 requests failed \(limit 20.0%\)$/);
    expect(arm.errors).toBe(3);
    expect(Object.values(arm.errorsByCode)).toEqual([3]);
    expect(got.decision).toBe('GUARDRAIL_BREACHED');
  });

  test('retention: the log and feedback go after EXPERIMENT_LOG_RETENTION_DAYS; the test keeps what it took in', async () => {
    await t.close();
    t = await createTestApp({ config: { experiments: { ...EXPERIMENTS, retentionMs: 1 } } });
    await grayWithTwoVersions(t);
    const e = await start(split());
    const preds: Pred[] = [];
    for (let i = 0; i < 10; i++) preds.push(await predict({ model: 'gray' }, `r${i}`));
    await judge(preds.slice(0, 5), () => true);
    const got = await get(e.id);
    expect(got.arms.reduce((s: number, a: any) => s + a.requests, 0)).toBe(0);
    expect(got.arms.reduce((s: number, a: any) => s + a.feedbackCount, 0)).toBe(5);
    expect(
      expectError(await t.gql(FEEDBACK, { id: preds[9]!.id, label: 'circle' }, t.keys.operator), 'NOT_FOUND').message,
    ).toMatch(/kept for the retention period/);
  });

  test("the log's batched write keeps every value exactly (COPY's text escapes embedded, an array INSERT on a server)", async () => {
    const db = t.app.db;
    // The embedded database writes the log with COPY, a server with INSERT ... unnest.
    expect(Boolean(db.copyRows)).toBe(db.kind === 'pglite');
    const repo = new ExperimentRepository(db.prisma, db.copyRows);
    const row = (i: number, over: Partial<LoggedPrediction>): LoggedPrediction => {
      const id = randomUUID();
      return {
        id,
        groupId: id,
        experimentId: 9000 + i,
        armId: i,
        versionId: 3,
        shadow: false,
        routingKeyHash: null,
        topLabel: null,
        confidence: null,
        latencyMs: 0,
        errorCode: null,
        createdAt: new Date(Date.UTC(2026, 11, 4, 12, 0, 0, 123 + i)),
        ...over,
      };
    };
    const rows = [
      row(0, { topLabel: 'tab\there\\back\nnew\rcr "q" ,; \\N', confidence: 0.123456789012345, latencyMs: 1.25e-7 }),
      row(1, { topLabel: '\\N', routingKeyHash: 'ab'.repeat(32), shadow: true, errorCode: 'SHADOW_DROPPED' }),
      row(2, { topLabel: 'ünïcødé 🙂', confidence: 1, latencyMs: 12345.5 }),
    ];
    await repo.logPredictions(rows);
    const back = await db.prisma.experimentPrediction.findMany({
      where: { id: { in: rows.map((r) => r.id) } },
      orderBy: { armId: 'asc' },
    });
    expect(back).toEqual(rows);
  });

  test('bad experiments are refused with a clear error', async () => {
    const bad = async (input: Record<string, unknown>, code = 'BAD_USER_INPUT', key = t.keys.admin) =>
      expectError(await t.gql(START, { input: { ...split(), ...input } }, key), code).message;
    expect(await bad({}, 'FORBIDDEN', t.keys.viewer)).toMatch(/needs role operator/);
    expect(await bad({ autoPromote: true }, 'FORBIDDEN', t.keys.operator)).toMatch(/pinned alias "champion"/);
    expect(await bad({ arms: [] })).toMatch(/at least one arm/);
    expect(await bad({ arms: [{ name: 'v2', ref: { model: 'other', version: 2 }, weight: 0.5 }] })).toMatch(
      /every arm must be a version of "gray"/,
    );
    expect(await bad({ arms: [{ name: 'v2', ref: { model: 'gray', version: 9 }, weight: 0.5 }] }, 'NOT_FOUND')).toMatch(
      /no version 9/,
    );
    expect(await bad({ arms: [{ name: 'v2', ref: { model: 'gray', version: 2 }, weight: 1 }] })).toMatch(
      /leaving no traffic for the control/,
    );
    expect(await bad({ arms: [{ name: 'v1', ref: { model: 'gray', version: 1 }, weight: 0.5 }] })).toMatch(
      /needs a candidate arm/,
    );
    expect(await bad({ arms: [{ name: 'a b', ref: { model: 'gray', version: 2 }, weight: 0.5 }] })).toMatch(
      /arm name "a b"/,
    );
    expect(await bad({ control: 'nope' })).toMatch(/control "nope" is not one of the arms/);
    expect(await bad({ alpha: 0.9 })).toMatch(/alpha must be in/);
    expect(await bad({ minSamples: 0 })).toMatch(/minSamples/);
    expect(await bad({ guardrails: { maxErrorRate: 2 } })).toMatch(/maxErrorRate must be in \[0, 1\]/);
    expect(
      await bad({ mode: 'SHADOW', arms: [{ name: 'v2', ref: { model: 'gray', version: 2 }, weight: 1.5 }] }),
    ).toMatch(/share of requests also run on it/);
    // One running experiment per model.
    await start(split());
    expect(await bad({ name: 'second' }, 'CONFLICT')).toMatch(/already has a running experiment/);
  });

  test('an explicit control arm, several candidates, and no baseline alias needed', async () => {
    const admin = t.app.localActor();
    await t.app.services.aliases.remove(admin, 'gray', 'baseline');
    expect(expectError(await t.gql(START, { input: split() }, t.keys.admin), 'BAD_USER_INPUT').message).toMatch(
      /no "baseline" alias: set it, or name the control arm/,
    );
    const e = await start({
      model: 'gray',
      name: 'explicit',
      control: 'one',
      arms: [
        { name: 'one', ref: { model: 'gray', version: 1 }, weight: 3 },
        { name: 'two', ref: { model: 'gray', version: 2 }, weight: 1 },
      ],
    });
    expect(e.control.name).toBe('one');
    expect(e.arms.map((a: any) => [a.name, a.isControl])).toEqual([
      ['one', true],
      ['two', false],
    ]);
  });
});
