import { parseArm, parseFeedbackFile, statusText, type Arm, type Experiment } from '../../src/cli/commands/experiments';

const ID = (n: number) => `0000000${n}-0000-4000-8000-000000000000`;

function arm(over: Partial<Arm>): Arm {
  return {
    name: 'control',
    weight: 1,
    isControl: true,
    active: true,
    stoppedReason: null,
    requests: 0,
    errors: 0,
    errorsByCode: {},
    shadowDropped: 0,
    latencyP50Ms: null,
    latencyP99Ms: null,
    feedbackCount: 0,
    correct: 0,
    accuracy: null,
    agreement: null,
    modelVersion: { version: 1, aliases: [] },
    test: null,
    ...over,
  };
}

const SPLIT: Experiment = {
  id: '4',
  name: 'slow v3',
  mode: 'SPLIT',
  status: 'RUNNING',
  decision: 'GUARDRAIL_BREACHED',
  decisionReason: 'v3: guardrail maxErrorRate',
  alpha: 0.05,
  minSamples: 100,
  autoPromote: false,
  promotedVersion: null,
  createdBy: 'ops',
  startedAt: '2026-12-03T10:00:00.000Z',
  stoppedAt: null,
  stoppedBy: null,
  guardrails: { maxErrorRate: 0.05, maxLatencyP99Ms: null, minRequests: 100 },
  model: { name: 'gray' },
  arms: [
    arm({
      name: 'base',
      weight: 2,
      requests: 200,
      latencyP50Ms: 1.234,
      latencyP99Ms: 123.4,
      feedbackCount: 50,
      correct: 40,
      accuracy: 0.8,
    }),
    arm({
      name: 'v3',
      weight: 1,
      isControl: false,
      active: false,
      stoppedReason: 'guardrail maxErrorRate: 12.0% of the last 100 requests failed (limit 5.0%)',
      requests: 100,
      errors: 12,
      errorsByCode: { TIMEOUT: 2, MODEL_LOAD_FAILED: 10 },
      modelVersion: { version: 3, aliases: [] },
      feedbackCount: 40,
      correct: 36,
      accuracy: 0.9,
      test: {
        method: 'mSPRT',
        pValue: 0.00012,
        estimate: 0.1,
        confidenceSequence: [-0.0512, 0.2534],
        samples: 90,
        controlOnlyRight: null,
        candidateOnlyRight: null,
        decision: 'GUARDRAIL_BREACHED',
      },
    }),
  ],
};

/** The rows of `text` split into cells (two or more spaces apart). */
const cells = (text: string) => text.split('\n').map((l) => l.split(/ {2,}/));

describe('experiment status text', () => {
  it('shows shares of unnormalised weights, errors by code, a stopped arm and why, and the test in points', () => {
    const text = statusText(SPLIT);
    const rows = cells(text);
    expect(rows).toContainEqual(['decision', 'GUARDRAIL_BREACHED']);
    expect(rows).toContainEqual(['reason', 'v3: guardrail maxErrorRate']);
    expect(rows).toContainEqual(['control', 'base (v1)']);
    expect(rows).toContainEqual(['guardrails', 'error rate at most 5.0%, once an arm has 100 requests']);
    expect(rows).toContainEqual([
      'ARM',
      'VERSION',
      'WEIGHT',
      'STATE',
      'REQUESTS',
      'ERRORS',
      'P50 MS',
      'P99 MS',
      'FEEDBACK',
      'ACCURACY',
    ]);
    expect(rows).toContainEqual([
      'base (control)',
      'v1',
      '2 (66.7%)',
      'active',
      '200',
      '0',
      '1.23',
      '123',
      '50',
      '80.0% (40/50)',
    ]);
    expect(rows).toContainEqual([
      'v3',
      'v3',
      '1 (33.3%)',
      'stopped',
      '100',
      '12 (MODEL_LOAD_FAILED 10, TIMEOUT 2)',
      '-',
      '-',
      '40',
      '90.0% (36/40)',
    ]);
    expect(rows).toContainEqual(['CANDIDATE', 'SAMPLES', 'ESTIMATE', 'P-VALUE', '95% CONFIDENCE SEQUENCE', 'DECISION']);
    expect(rows).toContainEqual(['v3', '90', '+10.0 pts', '1.2e-4', '-5.1..+25.3 pts', 'GUARDRAIL_BREACHED']);
    expect(text.split('\n').at(-1)).toBe(
      'v3 stopped: guardrail maxErrorRate: 12.0% of the last 100 requests failed (limit 5.0%)',
    );
    // SPLIT: no shadow columns.
    expect(text).not.toContain('AGREEMENT');
  });

  it('SHADOW: shadow drops, agreement and the discordant pairs; a stopped experiment says who stopped it and what was promoted', () => {
    const shadow: Experiment = {
      ...SPLIT,
      mode: 'SHADOW',
      status: 'STOPPED',
      decision: 'CANDIDATE_BETTER',
      decisionReason: 'stopped by ops, who promoted v3 (v3) to "champion"',
      stoppedAt: '2026-12-03T11:00:00.000Z',
      stoppedBy: 'ops',
      promotedVersion: 3,
      guardrails: { maxErrorRate: null, maxLatencyP99Ms: null, minRequests: 100 },
      arms: [
        arm({ name: 'control', requests: 30 }),
        arm({
          name: 'v3',
          isControl: false,
          requests: 25,
          shadowDropped: 5,
          agreement: 0.96,
          modelVersion: { version: 3, aliases: ['champion'] },
          test: {
            method: 'paired',
            pValue: 0.01,
            estimate: 0.08,
            confidenceSequence: null,
            samples: 25,
            controlOnlyRight: 0,
            candidateOnlyRight: 2,
            decision: 'CANDIDATE_BETTER',
          },
        }),
      ],
    };
    const rows = cells(statusText(shadow));
    expect(rows).toContainEqual([
      'status',
      'STOPPED at 2026-12-03T11:00:00.000Z by ops (started 2026-12-03T10:00:00.000Z by ops)',
    ]);
    expect(rows).toContainEqual(['promoted', 'v3 to "champion"']);
    expect(rows).toContainEqual(['guardrails', 'none']);
    expect(rows).toContainEqual([
      'ARM',
      'VERSION',
      'WEIGHT',
      'STATE',
      'REQUESTS',
      'ERRORS',
      'SHADOW DROPPED',
      'P50 MS',
      'P99 MS',
      'FEEDBACK',
      'ACCURACY',
      'AGREEMENT',
    ]);
    expect(rows).toContainEqual(['control (control)', 'v1', '1', 'active', '30', '0', '0', '-', '-', '0', '-', '-']);
    expect(rows).toContainEqual(['v3', 'v3', '1', 'active', '25', '0', '5', '-', '-', '0', '-', '96.0%']);
    expect(rows).toContainEqual([
      'CANDIDATE',
      'SAMPLES',
      'B / C',
      'ESTIMATE',
      'P-VALUE',
      '95% CONFIDENCE SEQUENCE',
      'DECISION',
    ]);
    expect(rows).toContainEqual(['v3', '25', '0 / 2', '+8.0 pts', '0.010', '-', 'CANDIDATE_BETTER']);
  });
});

describe('experiment arguments and feedback files', () => {
  it('--arm: name=<version|alias>[:weight], repeatable', () => {
    expect(parseArm('v2=2', parseArm('old=baseline:0.25'))).toEqual([
      { name: 'old', ref: 'baseline', weight: 0.25 },
      { name: 'v2', ref: '2' },
    ]);
    expect(() => parseArm('v2')).toThrow('an arm is name=<version|alias>[:weight]');
    expect(() => parseArm('=2')).toThrow('an arm is name=<version|alias>[:weight]');
    expect(() => parseArm('v2=2:half')).toThrow('the weight of arm "v2" is not a number');
  });

  it('CSV: a header or none, quoted labels with commas, quotes and line breaks, CRLF, a BOM, blank lines', () => {
    const csv = `\uFEFFpredictionId,label\r\n${ID(1)},circle\r\n\r\n"${ID(2)}","a, ""b""\nc"\r\n ${ID(3)} , square \r\n`;
    expect(parseFeedbackFile(csv, 'f.csv')).toEqual([
      { predictionId: ID(1), label: 'circle', line: 2 },
      { predictionId: ID(2), label: 'a, "b"\nc', line: 4 },
      { predictionId: ID(3), label: 'square', line: 6 },
    ]);
    expect(parseFeedbackFile(`${ID(1)},circle`, 'f.csv')).toEqual([{ predictionId: ID(1), label: 'circle', line: 1 }]);
    expect(parseFeedbackFile(`\nPredictionId,Label\n${ID(1)},circle`, 'f.csv')).toEqual([
      { predictionId: ID(1), label: 'circle', line: 3 },
    ]);
    expect(() => parseFeedbackFile(`${ID(1)},"circle`, 'f.csv')).toThrow('f.csv:1: a quoted field is not closed');
    expect(() => parseFeedbackFile(`${ID(1)},circle,extra`, 'f.csv')).toThrow(
      'f.csv:1: a row is predictionId,label (got 3 fields)',
    );
    expect(() => parseFeedbackFile('\n\n', 'f.csv')).toThrow('f.csv holds no feedback');
  });

  it('JSON lines, checked row by row', () => {
    const jsonl = [
      JSON.stringify({ predictionId: ID(1), label: 'x, y' }),
      '',
      JSON.stringify({ predictionId: ID(2), label: 'z' }),
    ].join('\n');
    expect(parseFeedbackFile(jsonl, 'f.jsonl')).toEqual([
      { predictionId: ID(1), label: 'x, y', line: 1 },
      { predictionId: ID(2), label: 'z', line: 3 },
    ]);
    expect(() => parseFeedbackFile(`{"predictionId": "${ID(1)}", "label": "a"}\n{oops`, 'f.jsonl')).toThrow(
      'f.jsonl:2: not a JSON object',
    );
    // The same prediction twice: the same label is a repeat, another label an error.
    expect(parseFeedbackFile(`${ID(1)},a\n${ID(1).toUpperCase()},a`, 'f.csv')).toHaveLength(2);
    expect(() => parseFeedbackFile(`${ID(1)},a\n${ID(1)},b`, 'f.csv')).toThrow(
      `f.csv:2: prediction ${ID(1)} is given "b" here and "a" on line 1`,
    );
  });
});
