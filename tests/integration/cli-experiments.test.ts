import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cli, withEnv, type Run } from '../helpers/cli';
import { startServer, type RunningServer } from '../../src/http/server';
import { createTestApp, dbKind, fixture, GRAY_MODEL, grayWithTwoVersions, type TestApp } from '../helpers/test-app';

const IMAGE = fixture(path.join('images', 'gray-29x31.png'));
const LABELS = GRAY_MODEL.labels;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Prediction {
  id: string | null;
  resolvedBy: string;
  top: { label: string }[];
}

interface ArmJson {
  name: string;
  weight: number;
  isControl: boolean;
  requests: number;
  shadowDropped: number;
  feedbackCount: number;
  correct: number;
  agreement: number | null;
  modelVersion: { version: number };
  test: { decision: string; samples: number; confidenceSequence: number[] | null } | null;
}

/** The experiment id in the first line of `experiment start`. */
function startedId(r: Run): string {
  expect([r.status, r.err]).toEqual([0, '']);
  const id = /^started experiment (\d+) /.exec(r.out)?.[1];
  if (!id) throw new Error(`no experiment id in:\n${r.out}`);
  return id;
}

/** The `nth` table row of `out` whose first cell is `first`, split on runs of two or more spaces. */
function row(out: string, first: string, nth = 0): string[] {
  const line = out.split('\n').filter((l) => l.split(/ {2,}/)[0] === first)[nth];
  if (!line) throw new Error(`no row "${first}" in:\n${out}`);
  return line.split(/ {2,}/);
}

/** Each local command opens the data directory (a second or two on PGlite): these tests run a few dozen. */
const LOCAL_TIMEOUT_MS = 180_000;

describe(`experiment commands on the local data directory (${dbKind()})`, () => {
  let t: TestApp;
  let restore: () => void;
  let dir: string;

  beforeAll(async () => {
    t = await createTestApp({ pgliteOnDisk: true });
    await grayWithTwoVersions(t);
    dir = t.dataDir;
    await t.close({ keep: true });
    restore = withEnv({
      DATA_DIR: t.dataDir,
      DATABASE_URL: t.config.databaseUrl,
      LOG_LEVEL: 'silent',
      MODELGATE_URL: undefined,
      MODELGATE_API_KEY: undefined,
    });
  });
  afterAll(async () => {
    restore();
    const cleanup = await createTestApp({ reuse: { dataDir: t.dataDir, databaseUrl: t.config.databaseUrl } });
    await cleanup.close();
  });

  it(
    'start: default weights share evenly with the control; refusals print the code',
    async () => {
      // One candidate, the control added on "baseline": half each.
      const r = await cli('experiment', 'start', 'gray', '--name', 'v2 vs v1', '--arm', 'v2=2', '--seed', '0');
      const id = startedId(r);
      expect(r.out.split('\n')[0]).toBe(`started experiment ${id} "v2 vs v1" on gray (SPLIT)`);
      expect(row(r.out, 'control')).toEqual(['control', 'v1', '0.5', 'yes']);
      expect(row(r.out, 'v2')).toEqual(['v2', 'v2', '0.5']);
      expect(r.out).toMatch(/^alpha\s+0\.05 \(always-valid\), at least 100 samples per arm$/m);
      expect(r.out).toMatch(/^guardrails\s+none$/m);
      // One running experiment per model.
      expect(await cli('experiment', 'start', 'gray', '--name', 'again', '--arm', 'v2=2')).toMatchObject({
        status: 1,
        err: expect.stringMatching(/^modelgate: error \[CONFLICT\]: /),
      });
      expect((await cli('experiment', 'stop', id)).status).toBe(0);

      // The control among the arms (on "baseline"): half each, without naming it.
      const both = await cli(
        'experiment',
        'start',
        'gray',
        '--name',
        'both',
        '--arm',
        'old=baseline',
        '--arm',
        'new=2',
      );
      const bothId = startedId(both);
      expect(row(both.out, 'old')).toEqual(['old', 'v1', '0.5', 'yes']);
      expect(row(both.out, 'new')).toEqual(['new', 'v2', '0.5']);
      expect((await cli('experiment', 'stop', bothId)).status).toBe(0);

      // A weight given is kept, the rest shared with the control; guardrails and the test's settings are shown.
      const given = await cli(
        ...['experiment', 'start', 'gray', '--name', 'named', '--arm', 'a=1:0.6', '--arm', 'b=2', '--control', 'a'],
        ...['--alpha', '0.01', '--min-samples', '20', '--max-error-rate', '0.05', '--max-latency-p99', '250'],
        ...['--guardrail-min-requests', '50'],
      );
      const givenId = startedId(given);
      expect(row(given.out, 'a')).toEqual(['a', 'v1', '0.6', 'yes']);
      expect(row(given.out, 'b')).toEqual(['b', 'v2', '0.4']);
      expect(given.out).toMatch(/^alpha\s+0\.01 \(always-valid\), at least 20 samples per arm$/m);
      expect(given.out).toMatch(
        /^guardrails\s+error rate at most 5\.0%, p99 latency at most 250 ms, once an arm has 50 requests$/m,
      );
      expect((await cli('experiment', 'stop', givenId)).status).toBe(0);

      // Refused by the gateway: its code and message.
      expect(await cli('experiment', 'start', 'gray', '--name', 'x', '--arm', 'v2=9')).toEqual({
        status: 1,
        out: '',
        err: 'modelgate: error [NOT_FOUND]: model "gray" has no version 9',
      });
      expect(
        await cli('experiment', 'start', 'gray', '--name', 'x', '--arm', 'v2=2', '--control', 'nope'),
      ).toMatchObject({
        status: 1,
        err: expect.stringContaining('error [BAD_USER_INPUT]: control "nope" is not one of the arms (v2)'),
      });
      expect(
        await cli('experiment', 'start', 'gray', '--name', 'x', '--arm', 'a=1:0.7', '--arm', 'b=2:0.3', '--arm', 'c=2'),
      ).toEqual({
        status: 1,
        out: '',
        err: 'modelgate: error [BAD_USER_INPUT]: the weights given add up to 1, leaving nothing for "c": give every arm\'s weight',
      });
      expect(await cli('experiment', 'start', 'nope', '--name', 'x', '--arm', 'v2=2')).toMatchObject({
        status: 1,
        err: expect.stringContaining('error [NOT_FOUND]'),
      });
      // Refused here, before anything is asked.
      const noEq = await cli('experiment', 'start', 'gray', '--name', 'x', '--arm', 'v2');
      expect([noEq.status, noEq.err]).toEqual([1, expect.stringContaining('an arm is name=<version|alias>[:weight]')]);
      const badMode = await cli('experiment', 'start', 'gray', '--name', 'x', '--arm', 'v2=2', '--mode', 'sideways');
      expect([badMode.status, badMode.err]).toEqual([1, expect.stringContaining('--mode must be split or shadow')]);
      expect((await cli('experiment', 'start', 'gray', '--arm', 'v2=2')).status).toBe(1);
      expect((await cli('experiment', 'status', '--status', 'paused')).err).toContain(
        '--status must be running or stopped',
      );
    },
    LOCAL_TIMEOUT_MS,
  );

  it(
    'SPLIT: routed predictions carry ids; feedback one by one and from a file; the test decides; stop --promote',
    async () => {
      const id = startedId(
        await cli(
          'experiment',
          'start',
          'gray',
          '--name',
          'split',
          '--arm',
          'v2=2',
          '--seed',
          '7',
          '--min-samples',
          '10',
        ),
      );
      // Unversioned: each image drawn to an arm, logged, with an id.
      const images = Array.from({ length: 60 }, () => IMAGE);
      const r = await cli('--json', 'predict', 'gray', ...images, '--top', '1');
      expect(r.status).toBe(0);
      const preds = (JSON.parse(r.out) as { predictBatch: Prediction[] }).predictBatch;
      for (const p of preds) expect(p.id).toMatch(UUID);
      const arm = (p: Prediction) => p.resolvedBy.split('/')[1];
      expect(new Set(preds.map((p) => p.resolvedBy))).toEqual(
        new Set([`experiment:${id}/control`, `experiment:${id}/v2`]),
      );
      // The table shows the id to give feedback with; a version named is not routed (no id column).
      const text = await cli('predict', 'gray', IMAGE, '--routing-key', 'user-1');
      expect(text.out.split('\n')[0]).toMatch(/^IMAGE\s+PREDICTION\s+VERSION\s+RESOLVEDBY\s+TOP\s+MS$/);
      expect(text.out.split('\n')[1]).toMatch(
        new RegExp(`gray-29x31\\.png\\s+[0-9a-f-]{36}\\s+v[12]\\s+experiment:${id}/`),
      );
      expect((await cli('predict', 'gray', IMAGE, '--version', '2')).out.split('\n')[0]).toMatch(/^IMAGE\s+VERSION/);

      // The candidate right every time, the control never: the candidate is better.
      const truth = (p: Prediction) => (arm(p) === 'v2' ? p.top[0]!.label : LABELS.find((l) => l !== p.top[0]!.label)!);
      const [first, ...rest] = preds;
      expect(await cli('experiment', 'feedback', first!.id!, truth(first!))).toEqual({
        status: 0,
        out: `prediction ${first!.id}: feedback "${truth(first!)}" recorded`,
        err: '',
      });
      expect((await cli('experiment', 'feedback', first!.id!, truth(first!))).out).toBe(
        `prediction ${first!.id}: feedback "${truth(first!)}" was already recorded (unchanged)`,
      );
      const other = LABELS.find((l) => l !== truth(first!))!;
      expect(await cli('experiment', 'feedback', first!.id!, other)).toMatchObject({
        status: 1,
        err: `modelgate: error [CONFLICT]: prediction ${first!.id} already has feedback "${truth(first!)}"`,
      });
      // CSV with a header, a quoted field, a blank line and the first one again: created vs repeated.
      const csv = path.join(dir, 'feedback.csv');
      writeFileSync(
        csv,
        [
          'predictionId,label',
          ...rest.map((p, i) => (i === 0 ? `"${p.id}","${truth(p)}"` : `${p.id},${truth(p)}`)),
          '',
          `${first!.id}, ${truth(first!)}`,
        ].join('\r\n'),
      );
      expect(await cli('experiment', 'feedback', '--file', csv)).toEqual({
        status: 0,
        out: `${preds.length} predictions: created ${rest.length}, repeated 1 (already recorded, unchanged)`,
        err: '',
      });

      const status = await cli('experiment', 'status', id);
      expect(status.status).toBe(0);
      expect(status.out).toMatch(new RegExp(`^experiment\\s+experiment ${id} "split" on gray \\(SPLIT\\)$`, 'm'));
      expect(status.out).toMatch(/^status\s+RUNNING since \d{4}-\d\d-\d\dT.* \(started by local:/m);
      expect(status.out).toMatch(/^decision\s+CANDIDATE_BETTER$/m);
      expect(status.out).toMatch(/^control\s+control \(v1\)$/m);
      expect(status.out).toMatch(
        /^ARM\s+VERSION\s+WEIGHT\s+STATE\s+REQUESTS\s+ERRORS\s+P50 MS\s+P99 MS\s+FEEDBACK\s+ACCURACY$/m,
      );
      const j = JSON.parse((await cli('--json', 'experiment', 'status', id)).out) as {
        experiment: { arms: ArmJson[] };
      };
      const [control, v2] = j.experiment.arms;
      const n = (name: string) => preds.filter((p) => arm(p) === name).length;
      expect([control!.feedbackCount, control!.correct, v2!.feedbackCount, v2!.correct]).toEqual([
        n('control'),
        0,
        n('v2'),
        n('v2'),
      ]);
      const c = row(status.out, 'control (control)');
      expect(c.slice(0, 6)).toEqual(['control (control)', 'v1', '0.5', 'active', String(control!.requests), '0']);
      expect(c.slice(6, 8).every((x) => /^\d+(\.\d+)?$/.test(x))).toBe(true);
      expect(c.slice(8)).toEqual([String(n('control')), `0.0% (0/${n('control')})`]);
      expect(row(status.out, 'v2').slice(8)).toEqual([String(n('v2')), `100.0% (${n('v2')}/${n('v2')})`]);
      expect(status.out).toMatch(/^CANDIDATE\s+SAMPLES\s+ESTIMATE\s+P-VALUE\s+95% CONFIDENCE SEQUENCE\s+DECISION$/m);
      const test = row(status.out, 'v2', 1);
      expect(test).toEqual([
        'v2',
        String(preds.length),
        '+100.0 pts',
        expect.stringMatching(/^(0\.0[0-4]\d|\d\.\de-\d+)$/),
        expect.stringMatching(/^[+-]\d+\.\d\.\.[+-]\d+\.\d pts$/),
        'CANDIDATE_BETTER',
      ]);

      // The list, and its filters.
      const list = await cli('experiment', 'status', '--model', 'gray', '--status', 'running');
      expect(list.out.split('\n')[0]).toMatch(
        /^ID\s+NAME\s+MODEL\s+MODE\s+STATUS\s+DECISION\s+ARMS\s+STARTED\s+STOPPED$/,
      );
      expect(list.out.split('\n').slice(1)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^${id}\\s+split\\s+gray\\s+SPLIT\\s+RUNNING\\s+CANDIDATE_BETTER\\s+control=v1\\* v2=v2\\s+\\d{4}-.*\\s+-$`,
          ),
        ),
      ]);
      expect((await cli('experiment', 'status')).out.split('\n')).toHaveLength(5);
      expect(await cli('experiment', 'status', '--model', 'nope')).toMatchObject({
        status: 1,
        err: expect.stringContaining('error [NOT_FOUND]'),
      });
      expect(await cli('experiment', 'status', '999')).toEqual({
        status: 1,
        out: '',
        err: 'modelgate: error [NOT_FOUND]: no experiment 999',
      });
      // Not a number: a model's name, standing for its newest experiment.
      expect((await cli('experiment', 'status', 'abc')).err).toBe('modelgate: error [NOT_FOUND]: no model named "abc"');
      expect((await cli('--json', 'experiment', 'status', 'gray')).out).toContain(`"id": "${id}"`);
      expect((await cli('experiment', 'status', id, '--model', 'gray')).err).toContain(
        'error [BAD_USER_INPUT]: --model, --status and --first list experiments',
      );

      // Promoting the winner moves "champion", and says so.
      const stopped = await cli('experiment', 'stop', id, '--promote');
      expect([stopped.status, stopped.err]).toEqual([0, '']);
      expect(stopped.out.split('\n')[0]).toBe(`stopped experiment ${id}`);
      expect(stopped.out).toMatch(/^status\s+STOPPED at \d{4}-.* by local:/m);
      expect(stopped.out).toMatch(/^promoted\s+v2 to "champion"$/m);
      expect(stopped.out).toMatch(/^reason\s+stopped by local:.*, who promoted v2 \(v2\) to "champion"$/m);
      expect((await cli('versions', 'show', 'gray')).out).toMatch(/^version\s+2$/m);
      expect(await cli('experiment', 'stop', id)).toMatchObject({
        status: 1,
        err: `modelgate: error [CONFLICT]: experiment ${id} is already stopped`,
      });
      expect((await cli('alias', 'set', 'gray', 'champion', '1')).status).toBe(0);
    },
    LOCAL_TIMEOUT_MS,
  );

  it(
    'feedback files: JSON lines; rows are checked before anything is sent; chunks of 1000 are all or nothing',
    async () => {
      const id = startedId(await cli('experiment', 'start', 'gray', '--name', 'files', '--arm', 'v2=2'));
      const preds = (
        JSON.parse((await cli('--json', 'predict', 'gray', IMAGE, IMAGE, IMAGE)).out) as {
          predictBatch: Prediction[];
        }
      ).predictBatch;
      const [a, b, c] = preds.map((p) => p.id!);
      const file = (name: string, lines: string[]) => {
        const f = path.join(dir, name);
        writeFileSync(f, lines.join('\n') + '\n');
        return f;
      };
      const jsonl = file('a.jsonl', [JSON.stringify({ predictionId: a, label: 'circle' })]);
      expect(await cli('experiment', 'feedback', '--file', jsonl)).toMatchObject({
        status: 0,
        out: '1 predictions: created 1, repeated 0 (already recorded, unchanged)',
      });

      // Refused here, nothing sent: a malformed id, one prediction given two labels, a short row.
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect(
        await cli('experiment', 'feedback', '--file', file('bad.csv', [`${b},circle`, `not-an-id,circle`])),
      ).toEqual({
        status: 1,
        out: '',
        err: `modelgate: error [BAD_USER_INPUT]: ${path.join(dir, 'bad.csv')}:2: "not-an-id" is not a prediction id (a UUID)`,
      });
      expect(
        (await cli('experiment', 'feedback', '--file', file('twice.csv', [`${b},circle`, `${b},square`]))).err,
      ).toContain(`twice.csv:2: prediction ${b} is given "square" here and "circle" on line 1`);
      expect((await cli('experiment', 'feedback', '--file', file('short.csv', [`${b}`]))).err).toContain(
        'short.csv:1: a row is predictionId,label (got 1 fields)',
      );
      expect((await cli('experiment', 'feedback', '--file', file('j.jsonl', ['{"predictionId": 1}']))).err).toContain(
        'j.jsonl:1: a line is {"predictionId": "<uuid>", "label": "<label>"}',
      );
      expect((await cli('experiment', 'feedback', '--file', path.join(dir, 'none.csv'))).err).toContain(
        'cannot read ' + path.join(dir, 'none.csv') + ': ENOENT',
      );
      expect((await cli('experiment', 'feedback', b!)).err).toContain(
        'error [BAD_USER_INPUT]: give a prediction id and its true label, or --file with many',
      );
      // Refused by the gateway, all or nothing: b is not recorded with the unknown label.
      expect(
        await cli('experiment', 'feedback', '--file', file('label.csv', [`${b},circle`, `${c},hexagon`])),
      ).toMatchObject({
        status: 1,
        err: expect.stringMatching(
          /^modelgate: error \[BAD_USER_INPUT\]: "hexagon" is not a label of the model \(circle, square, triangle\) \(in .*label\.csv, lines 1-2: chunk 1\/1, none of it recorded\)$/,
        ),
      });
      // 1000 rows (one prediction, repeated) in the first chunk, an unknown prediction in the second.
      const big = file('big.csv', [
        ...Array.from({ length: 1000 }, () => `${a},circle`),
        `${unknown},circle`,
        `${b},circle`,
      ]);
      const r = await cli('experiment', 'feedback', '--file', big);
      expect(r.status).toBe(1);
      expect(r.err.split('\n')).toEqual([
        'feedback: chunk 1/2 recorded (created 0, repeated 1 (already recorded, unchanged))',
        `modelgate: error [NOT_FOUND]: no logged prediction ${unknown} (only predictions routed by an experiment are logged, and kept for the retention period) (in ${big}, lines 1001-1002: chunk 2/2, none of it recorded; the 1 chunk(s) before were recorded (created 0, repeated 1 (already recorded, unchanged)))`,
      ]);
      const arms = (
        JSON.parse((await cli('--json', 'experiment', 'status', id)).out) as { experiment: { arms: ArmJson[] } }
      ).experiment.arms;
      expect(arms.reduce((sum, x) => sum + x.feedbackCount, 0)).toBe(1);

      // Stop --promote with no better candidate is refused; a plain stop says STOPPED.
      expect(await cli('experiment', 'stop', id, '--promote')).toMatchObject({
        status: 1,
        err: expect.stringMatching(
          /^modelgate: error \[BAD_USER_INPUT\]: no arm of experiment \d+ is significantly better/,
        ),
      });
      const stopped = await cli('experiment', 'stop', id);
      expect(stopped.out).toMatch(/^decision\s+STOPPED$/m);
    },
    LOCAL_TIMEOUT_MS,
  );
});

describe(`experiment commands against a running gateway (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  let restore: () => void;

  beforeAll(async () => {
    t = await createTestApp();
    await grayWithTwoVersions(t);
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    restore = withEnv({ MODELGATE_URL: undefined, MODELGATE_API_KEY: undefined });
  });
  afterAll(async () => {
    restore();
    await server.close();
    await t.close();
  });

  const remote = (key: string, ...args: string[]) => cli('--url', server.url, '--key', key, ...args);
  const armsOf = async (id: string) =>
    (
      JSON.parse((await remote(t.keys.viewer, '--json', 'experiment', 'status', id)).out) as {
        experiment: { arms: ArmJson[] };
      }
    ).experiment.arms;
  /** The monitor and the prediction log run on the gateway's own time: wait until `done` holds. */
  async function until(id: string, done: (arms: ArmJson[]) => boolean): Promise<ArmJson[]> {
    for (let i = 0; ; i++) {
      const arms = await armsOf(id);
      if (done(arms) || i >= 100) return arms;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('SHADOW: the control answers; status shows shadow runs, drops, agreement and the paired test; roles apply', async () => {
    expect(await remote(t.keys.viewer, 'experiment', 'start', 'gray', '--name', 's', '--arm', 'v2=2')).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [FORBIDDEN]'),
    });
    const r = await remote(
      t.keys.operator,
      ...[
        'experiment',
        'start',
        'gray',
        '--name',
        'shadow v2',
        '--mode',
        'shadow',
        '--arm',
        'v2=2',
        '--min-samples',
        '5',
      ],
    );
    const id = startedId(r);
    expect(r.out.split('\n')[0]).toBe(`started experiment ${id} "shadow v2" on gray (SHADOW)`);
    expect(row(r.out, 'control')).toEqual(['control', 'v1', '1', 'yes']);
    expect(row(r.out, 'v2')).toEqual(['v2', 'v2', '1']);
    expect(r.out).toMatch(/^alpha\s+0\.05 \(always-valid\), at least 5 pairs$/m);

    // One image at a time (no queue: the shadow runs are not dropped), then a batch (they may be).
    const preds: Prediction[] = [];
    for (let i = 0; i < 8; i++) {
      const p = await remote(t.keys.viewer, '--json', 'predict', 'gray', IMAGE, '--routing-key', `user-${i}`);
      preds.push(...(JSON.parse(p.out) as { predictBatch: Prediction[] }).predictBatch);
    }
    const batch = await remote(t.keys.viewer, '--json', 'predict', 'gray', ...Array.from({ length: 16 }, () => IMAGE));
    preds.push(...(JSON.parse(batch.out) as { predictBatch: Prediction[] }).predictBatch);
    for (const p of preds) expect(p.resolvedBy).toBe(`experiment:${id}/control`);
    // Every control answer has its shadow run logged, or its drop.
    await until(id, ([control, v2]) => v2!.requests + v2!.shadowDropped === control!.requests);

    const jsonl = path.join(t.dataDir, 'shadow.jsonl');
    writeFileSync(jsonl, preds.map((p) => JSON.stringify({ predictionId: p.id, label: p.top[0]!.label })).join('\n'));
    expect(await remote(t.keys.viewer, 'experiment', 'feedback', '--file', jsonl)).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [FORBIDDEN]'),
    });
    expect(await remote(t.keys.operator, 'experiment', 'feedback', '--file', jsonl)).toEqual({
      status: 0,
      out: `${preds.length} predictions: created ${preds.length}, repeated 0 (already recorded, unchanged)`,
      err: '',
    });
    const [control, v2] = await until(id, ([c]) => c!.feedbackCount === preds.length);
    expect(control!.feedbackCount).toBe(preds.length);
    expect(v2!.requests).toBeGreaterThan(0);
    // The same weights: the candidate agrees with the control on every image both answered.
    expect(v2!.agreement).toBe(1);

    const status = await remote(t.keys.viewer, 'experiment', 'status', id);
    expect(status.status).toBe(0);
    expect(status.out).toMatch(/^experiment\s+experiment \d+ "shadow v2" on gray \(SHADOW\)$/m);
    expect(status.out).toMatch(
      /^ARM\s+VERSION\s+WEIGHT\s+STATE\s+REQUESTS\s+ERRORS\s+SHADOW DROPPED\s+P50 MS\s+P99 MS\s+FEEDBACK\s+ACCURACY\s+AGREEMENT$/m,
    );
    expect(row(status.out, 'control (control)').slice(0, 7)).toEqual([
      'control (control)',
      'v1',
      '1',
      'active',
      String(preds.length),
      '0',
      '0',
    ]);
    const v2Row = row(status.out, 'v2');
    expect(v2Row.slice(0, 7)).toEqual([
      'v2',
      'v2',
      '1',
      'active',
      String(v2!.requests),
      '0',
      String(v2!.shadowDropped),
    ]);
    expect(v2Row.at(-1)).toBe('100.0%');
    expect(status.out).toMatch(
      /^CANDIDATE\s+SAMPLES\s+B \/ C\s+ESTIMATE\s+P-VALUE\s+95% CONFIDENCE SEQUENCE\s+DECISION$/m,
    );
    expect(row(status.out, 'v2', 1).slice(0, 4)).toEqual(['v2', String(v2!.test!.samples), '0 / 0', '+0.0 pts']);
    expect(row(status.out, 'v2', 1).at(-1)).toBe('CONTINUE');
    expect(status.out).toContain('b / c: pairs only the control / only the candidate got right');

    expect(await remote(t.keys.viewer, 'experiment', 'stop', id)).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [FORBIDDEN]'),
    });
    const stopped = await remote(t.keys.operator, 'experiment', 'stop', id);
    expect(stopped.out).toMatch(/^decision\s+STOPPED$/m);
    expect((await remote(t.keys.viewer, 'experiment', 'status', '--status', 'stopped')).out).toMatch(
      new RegExp(`^${id}\\s+shadow v2\\s+gray\\s+SHADOW\\s+STOPPED\\s+STOPPED\\s+control=v1\\* v2=v2\\s`, 'm'),
    );
  });

  it('replay: a labeled dataset as live traffic, its labels as feedback; the model name stands for its newest experiment', async () => {
    // The same 8x8 PNG twice under each label, and a dataset whose labels the model lacks.
    const stored = await t.app.artifacts.commit(await t.app.artifacts.stage(fixture('png-renamed.onnx')));
    const admin = t.app.localActor();
    await t.app.services.datasets.create(admin, {
      name: 'shapes',
      labels: LABELS,
      storageUri: 'artifacts/sha256',
      items: LABELS.flatMap((_, label) =>
        [0, 1].map((k) => ({ path: `${label}-${k}.png`, labelIndex: label, sha256: stored.sha256 })),
      ),
    });
    await t.app.services.datasets.create(admin, {
      name: 'animals',
      labels: ['cat', 'dog'],
      storageUri: 'artifacts/sha256',
      items: [{ path: 'cat.png', labelIndex: 0, sha256: stored.sha256 }],
    });
    startedId(
      await remote(
        t.keys.operator,
        'experiment',
        'start',
        'gray',
        '--name',
        'replayed',
        '--arm',
        'v2=2',
        '--seed',
        '3',
      ),
    );
    expect(await remote(t.keys.operator, 'experiment', 'replay', 'gray', '--dataset', 'animals')).toMatchObject({
      status: 1,
      err: expect.stringContaining(
        'error [BAD_USER_INPUT]: dataset animals has labels the model gray lacks: "cat", "dog"',
      ),
    });
    const r = await remote(t.keys.operator, 'experiment', 'replay', 'gray', '--dataset', 'shapes', '--limit', '5');
    expect(r.status).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(
      /^replayed 5 images of shapes@1 as live traffic \(answered by (control \d, v2 \d|v2 \d, control \d|control 5|v2 5)\); feedback recorded for 5$/,
    );
    expect(r.out).toMatch(/^experiment\s+experiment \d+ "replayed" on gray \(SPLIT\)$/m);
    const arms = JSON.parse((await remote(t.keys.viewer, '--json', 'experiment', 'status', 'gray')).out).experiment
      .arms as ArmJson[];
    expect(arms.reduce((n, a) => n + a.feedbackCount, 0)).toBe(5);
    expect(arms.reduce((n, a) => n + a.requests, 0)).toBe(5);
    // Sticky: the same routing keys (the paths) go to the same arms again.
    const again = await remote(
      t.keys.operator,
      '--json',
      'experiment',
      'replay',
      'gray',
      '--dataset',
      'shapes',
      '--limit',
      '5',
    );
    const first = /answered by ([^)]*)\)/.exec(r.out)![1]!.split(', ').sort();
    const routed = JSON.parse(again.out).replay.routed as Record<string, number>;
    expect(
      Object.entries(routed)
        .map(([by, n]) => `${by.split('/').pop()} ${n}`)
        .sort(),
    ).toEqual(first);
    expect((await remote(t.keys.operator, 'experiment', 'stop', 'gray')).status).toBe(0);
    expect(await remote(t.keys.operator, 'experiment', 'replay', 'gray', '--dataset', 'shapes')).toMatchObject({
      status: 1,
      err: expect.stringMatching(/error \[CONFLICT\]: experiment \d+ is STOPPED: replay needs a running one/),
    });
  });
});
