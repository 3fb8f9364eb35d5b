import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { badInput } from '../../common/errors';
import { GatewayError, type GatewayClient } from '../client';
import { fields, table } from '../format';
import { fileError, intArg, numberArg, versionRef, type CommandContext } from './shared';

const ARM_FIELDS = `name weight isControl active stoppedReason requests errors errorsByCode shadowDropped
  latencyP50Ms latencyP99Ms feedbackCount correct accuracy agreement modelVersion { version aliases }
  test { method pValue estimate confidenceSequence samples controlOnlyRight candidateOnlyRight decision }`;
const FIELDS = `id name mode status decision decisionReason alpha minSamples autoPromote promotedVersion createdBy
  startedAt stoppedAt stoppedBy guardrails { maxErrorRate maxLatencyP99Ms minRequests } model { name }
  arms { ${ARM_FIELDS} }`;
const START = `mutation($input: StartExperimentInput!) { startExperiment(input: $input) { ${FIELDS} } }`;
const GET = `query($id: ID!) { experiment(id: $id) { ${FIELDS} } }`;
const LIST = `query($model: String, $status: ExperimentStatus, $first: Int) {
  experiments(model: $model, status: $status, first: $first) {
    id name mode status decision startedAt stoppedAt model { name } arms { name isControl modelVersion { version } } } }`;
const STOP = `mutation($id: ID!, $promote: Boolean) { stopExperiment(id: $id, promote: $promote) { ${FIELDS} } }`;
const ALIASES = `query($name: String!) { model(name: $name) { aliases { name version { version } } } }`;
const FEEDBACK = `mutation($id: ID!, $label: String!) { recordFeedback(predictionId: $id, label: $label) { predictionId label created recordedAt } }`;
const FEEDBACK_BATCH = `mutation($items: [FeedbackInput!]!) { recordFeedbackBatch(feedback: $items) { predictionId label created recordedAt } }`;

/** recordFeedbackBatch takes at most this many items, all or nothing. */
export const FEEDBACK_CHUNK = 1000;
/** The alias the gateway's control arm defaults to. */
const BASELINE = 'baseline';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface SequentialTest {
  method: string;
  pValue: number;
  estimate: number | null;
  confidenceSequence: [number, number] | null;
  samples: number;
  controlOnlyRight: number | null;
  candidateOnlyRight: number | null;
  decision: string;
}

export interface Arm {
  name: string;
  weight: number;
  isControl: boolean;
  active: boolean;
  stoppedReason: string | null;
  requests: number;
  errors: number;
  errorsByCode: Record<string, number>;
  shadowDropped: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  feedbackCount: number;
  correct: number;
  accuracy: number | null;
  agreement: number | null;
  modelVersion: { version: number; aliases: string[] };
  test: SequentialTest | null;
}

export interface Experiment {
  id: string;
  name: string;
  mode: 'SPLIT' | 'SHADOW';
  status: 'RUNNING' | 'STOPPED';
  decision: string;
  decisionReason: string | null;
  alpha: number;
  minSamples: number;
  autoPromote: boolean;
  promotedVersion: number | null;
  createdBy: string;
  startedAt: string;
  stoppedAt: string | null;
  stoppedBy: string | null;
  guardrails: { maxErrorRate: number | null; maxLatencyP99Ms: number | null; minRequests: number };
  model: { name: string };
  arms: Arm[];
}

interface ListedExperiment {
  id: string;
  name: string;
  mode: string;
  status: string;
  decision: string;
  startedAt: string;
  stoppedAt: string | null;
  model: { name: string };
  arms: { name: string; isControl: boolean; modelVersion: { version: number } }[];
}

interface Feedback {
  predictionId: string;
  label: string;
  created: boolean;
  recordedAt: string;
}

// ---- numbers for humans ----

const pct = (x: number | null) => (x === null ? null : `${(x * 100).toFixed(1)}%`);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;
const pts = (x: number | null) => (x === null ? null : `${signed(x)} pts`);
const ms = (x: number | null) => (x === null ? null : x >= 100 ? x.toFixed(0) : x.toPrecision(3));
const pValue = (p: number) => (p >= 0.001 ? p.toFixed(3) : p.toExponential(1));
const weight = (w: number) => String(Number(w.toPrecision(4)));

// ---- start ----

interface ArmSpec {
  name: string;
  ref: string;
  weight?: number;
}

/** `--arm name=<version|alias>[:weight]`, repeatable. */
export function parseArm(value: string, previous: ArmSpec[] = []): ArmSpec[] {
  const eq = value.indexOf('=');
  const name = eq < 0 ? '' : value.slice(0, eq).trim();
  const rest = eq < 0 ? '' : value.slice(eq + 1).trim();
  const colon = rest.lastIndexOf(':');
  const ref = colon < 0 ? rest : rest.slice(0, colon).trim();
  if (!name || !ref) throw new InvalidArgumentError('an arm is name=<version|alias>[:weight], e.g. v2=2:0.5');
  if (colon < 0) return [...previous, { name, ref }];
  const text = rest.slice(colon + 1).trim();
  const w = Number(text);
  if (text === '' || !Number.isFinite(w)) throw new InvalidArgumentError(`the weight of arm "${name}" is not a number`);
  return [...previous, { name, ref, weight: w }];
}

/** `--mode split|shadow`. */
function parseMode(value: string): 'SPLIT' | 'SHADOW' {
  const mode = value.toUpperCase();
  if (mode !== 'SPLIT' && mode !== 'SHADOW') throw new InvalidArgumentError('--mode must be split or shadow');
  return mode;
}

/** `--status running|stopped`. */
function parseStatus(value: string): 'RUNNING' | 'STOPPED' {
  const status = value.toUpperCase();
  if (status !== 'RUNNING' && status !== 'STOPPED')
    throw new InvalidArgumentError('--status must be running or stopped');
  return status;
}

/** A whole number from 0 (a seed). */
function wholeArg(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(`${name} must be a whole number from 0`);
    return n;
  };
}

interface StartOptions {
  name: string;
  arm: ArmSpec[];
  control?: string;
  mode: 'SPLIT' | 'SHADOW';
  alpha?: number;
  minSamples?: number;
  maxErrorRate?: number;
  maxLatencyP99?: number;
  guardrailMinRequests?: number;
  autoPromote?: boolean;
  seed?: number;
}

/** Whether one of the arms is the version on the model's "baseline" alias (the gateway then makes it the control). */
async function baselineIsAnArm(client: GatewayClient, model: string, arms: ArmSpec[]): Promise<boolean> {
  const { model: m } = await client.request<{ model: { aliases: { name: string; version: { version: number } }[] } }>(
    ALIASES,
    { name: model },
  );
  const byAlias = new Map(m.aliases.map((a) => [a.name, a.version.version]));
  const baseline = byAlias.get(BASELINE);
  // Without a baseline the gateway refuses the experiment, and says why.
  if (baseline === undefined) return false;
  return arms.some((a) => (/^\d+$/.test(a.ref) ? Number(a.ref) : byAlias.get(a.ref)) === baseline);
}

/**
 * The arms with their weights. SHADOW: an arm without one runs on every request (1). SPLIT: arms
 * without one share evenly what the weights given leave, with the control when the gateway adds it
 * (one candidate alone: 0.5, the control the other 0.5).
 */
async function armsInput(client: GatewayClient, model: string, o: StartOptions) {
  const arms = o.arm;
  const input = (a: ArmSpec, w: number) => ({ name: a.name, ref: versionRef(model, a.ref), weight: w });
  if (o.mode === 'SHADOW') return arms.map((a) => input(a, a.weight ?? 1));
  const omitted = arms.filter((a) => a.weight === undefined);
  if (!omitted.length) return arms.map((a) => input(a, a.weight!));
  const given = arms.reduce((sum, a) => sum + (a.weight ?? 0), 0);
  const rest = 1 - given;
  if (!(rest > 1e-9))
    throw badInput(
      `the weights given add up to ${weight(given)}, leaving nothing for ${omitted.map((a) => `"${a.name}"`).join(', ')}: give every arm's weight`,
    );
  const controlIsAnArm = o.control !== undefined || (await baselineIsAnArm(client, model, arms));
  const share = rest / (omitted.length + (controlIsAnArm ? 0 : 1));
  return arms.map((a) => input(a, a.weight ?? share));
}

async function startInput(client: GatewayClient, model: string, o: StartOptions) {
  const guardrails = {
    ...(o.maxErrorRate !== undefined ? { maxErrorRate: o.maxErrorRate } : {}),
    ...(o.maxLatencyP99 !== undefined ? { maxLatencyP99Ms: o.maxLatencyP99 } : {}),
    ...(o.guardrailMinRequests !== undefined ? { minRequests: o.guardrailMinRequests } : {}),
  };
  return {
    model,
    name: o.name,
    mode: o.mode,
    arms: await armsInput(client, model, o),
    ...(o.control !== undefined ? { control: o.control } : {}),
    ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
    ...(o.minSamples !== undefined ? { minSamples: o.minSamples } : {}),
    ...(Object.keys(guardrails).length ? { guardrails } : {}),
    ...(o.autoPromote ? { autoPromote: true } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  };
}

/** The weight as given, and in SPLIT, when the weights do not add up to 1, the share of traffic it means. */
function weightText(e: Experiment, arm: Arm): string {
  if (e.mode !== 'SPLIT') return weight(arm.weight);
  const total = e.arms.reduce((sum, a) => sum + a.weight, 0);
  return Math.abs(total - 1) < 1e-9 ? weight(arm.weight) : `${weight(arm.weight)} (${pct(arm.weight / total)})`;
}

const version = (a: Arm) => `v${a.modelVersion.version}`;
const title = (e: Experiment) => `experiment ${e.id} "${e.name}" on ${e.model.name} (${e.mode})`;

function guardrailText(g: Experiment['guardrails']): string {
  const limits = [
    ...(g.maxErrorRate !== null ? [`error rate at most ${pct(g.maxErrorRate)}`] : []),
    ...(g.maxLatencyP99Ms !== null ? [`p99 latency at most ${ms(g.maxLatencyP99Ms)} ms`] : []),
  ];
  return limits.length ? `${limits.join(', ')}, once an arm has ${g.minRequests} requests` : 'none';
}

function startedText(e: Experiment): string {
  return [
    `started ${title(e)}`,
    table(
      e.arms.map((a) => ({
        arm: a.name,
        version: version(a),
        weight: weightText(e, a),
        control: a.isControl ? 'yes' : '',
      })),
    ),
    fields({
      alpha: `${e.alpha} (always-valid), at least ${e.minSamples} ${e.mode === 'SHADOW' ? 'pairs' : 'samples per arm'}`,
      guardrails: guardrailText(e.guardrails),
      promotion: e.autoPromote
        ? 'automatic, to a significantly better candidate'
        : 'by hand (experiment stop --promote)',
    }),
    `unversioned predictions of ${e.model.name} now go to its arms (Prediction.id: give it to experiment feedback)`,
  ].join('\n');
}

// ---- status ----

function errorsText(a: Arm): string {
  const codes = Object.entries(a.errorsByCode)
    .sort((x, y) => y[1] - x[1])
    .map(([code, n]) => `${code} ${n}`);
  return codes.length ? `${a.errors} (${codes.join(', ')})` : String(a.errors);
}

/** One experiment: what it is, its decision, a table of its arms, the candidates' tests and why arms stopped. */
export function statusText(e: Experiment): string {
  const shadow = e.mode === 'SHADOW';
  const control = e.arms.find((a) => a.isControl);
  const candidates = e.arms.filter((a) => !a.isControl);
  const head = fields({
    experiment: title(e),
    status:
      e.status === 'RUNNING'
        ? `RUNNING since ${e.startedAt} (started by ${e.createdBy})`
        : `STOPPED at ${e.stoppedAt ?? '?'} by ${e.stoppedBy ?? '?'} (started ${e.startedAt} by ${e.createdBy})`,
    decision: e.decision,
    reason: e.decisionReason,
    ...(e.promotedVersion !== null ? { promoted: `v${e.promotedVersion} to "champion"` } : {}),
    control: control ? `${control.name} (${version(control)})` : null,
    test: `${candidates[0]?.test?.method ?? '-'}; alpha ${e.alpha}, at least ${e.minSamples} ${shadow ? 'pairs' : 'samples per arm'}`,
    guardrails: guardrailText(e.guardrails),
    promotion: e.autoPromote ? 'automatic' : 'by hand (experiment stop --promote)',
  });
  const arms = table(
    e.arms.map((a) => ({
      arm: a.isControl ? `${a.name} (control)` : a.name,
      version: version(a),
      weight: weightText(e, a),
      state: a.active ? 'active' : 'stopped',
      requests: a.requests,
      errors: errorsText(a),
      ...(shadow ? { 'shadow dropped': a.shadowDropped } : {}),
      'p50 ms': ms(a.latencyP50Ms),
      'p99 ms': ms(a.latencyP99Ms),
      feedback: a.feedbackCount,
      accuracy: a.accuracy === null ? null : `${pct(a.accuracy)} (${a.correct}/${a.feedbackCount})`,
      ...(shadow ? { agreement: a.isControl ? null : pct(a.agreement) } : {}),
    })),
  );
  const tests = table(
    candidates.map((a) => {
      const t = a.test;
      const cs = t?.confidenceSequence;
      return {
        candidate: a.name,
        samples: t?.samples,
        ...(shadow ? { 'b / c': t ? `${t.controlOnlyRight ?? 0} / ${t.candidateOnlyRight ?? 0}` : null } : {}),
        estimate: t ? pts(t.estimate) : null,
        'p-value': t ? pValue(t.pValue) : null,
        [`${Math.round((1 - e.alpha) * 1000) / 10}% confidence sequence`]: cs
          ? `${signed(cs[0])}..${signed(cs[1])} pts`
          : null,
        decision: t?.decision,
      };
    }),
  );
  const stopped = e.arms.filter((a) => a.stoppedReason).map((a) => `${a.name} stopped: ${a.stoppedReason}`);
  const notes = shadow ? ['b / c: pairs only the control / only the candidate got right'] : [];
  return [head, '', arms, '', tests, ...notes, ...(stopped.length ? ['', ...stopped] : [])].join('\n');
}

function listText(list: ListedExperiment[]): string {
  return table(
    list.map((e) => ({
      id: e.id,
      name: e.name,
      model: e.model.name,
      mode: e.mode,
      status: e.status,
      decision: e.decision,
      arms: e.arms.map((a) => `${a.name}=v${a.modelVersion.version}${a.isControl ? '*' : ''}`).join(' '),
      started: e.startedAt,
      stopped: e.stoppedAt,
    })),
  );
}

const NEWEST = `query($model: String!) { experiments(model: $model, first: 1) { id } }`;

/** An experiment id, or a model's name for its newest experiment (what the tour and scripts know). */
async function experimentId(client: GatewayClient, ref: string): Promise<string> {
  if (/^\d+$/.test(ref)) return ref;
  const { experiments } = await client.request<{ experiments: { id: string }[] }>(NEWEST, { model: ref });
  if (!experiments.length) throw new GatewayError('NOT_FOUND', `model "${ref}" has no experiment`);
  return experiments[0]!.id;
}

async function experiment(client: GatewayClient, ref: string): Promise<Experiment> {
  const id = await experimentId(client, ref);
  const { experiment: e } = await client.request<{ experiment: Experiment | null }>(GET, { id });
  if (!e) throw new GatewayError('NOT_FOUND', `no experiment ${id}`);
  return e;
}

// ---- feedback ----

interface FeedbackRow {
  predictionId: string;
  label: string;
  /** Line of the file it was read from. */
  line: number;
}

/** RFC 4180 records with the line each starts on: quoted fields may hold commas, quotes ("") and line breaks. */
function csvRecords(text: string, file: string): { fields: string[]; line: number; blank: boolean }[] {
  const records: { fields: string[]; line: number; blank: boolean }[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let blank = true;
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        blank = false;
        i++;
        for (;;) {
          if (i >= text.length) throw badInput(`${file}:${start}: a quoted field is not closed`);
          const ch = text[i]!;
          if (ch === '"' && text[i + 1] === '"') {
            value += '"';
            i += 2;
          } else if (ch === '"') {
            i++;
            break;
          } else {
            if (ch === '\n') line++;
            value += ch;
            i++;
          }
        }
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i]!.trim()) throw badInput(`${file}:${line}: text after a closing quote`);
          i++;
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') value += text[i++];
        value = value.trim();
        if (value) blank = false;
      }
      fields.push(value);
      if (text[i] === ',') {
        blank = false;
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') {
        i++;
        line++;
      }
      break;
    }
    records.push({ fields, line: start, blank });
  }
  return records;
}

/** CSV (predictionId,label, with or without that header) or JSON lines ({"predictionId": …, "label": …}). */
export function parseFeedbackFile(text: string, file: string): FeedbackRow[] {
  const body = text.replace(/^\uFEFF/, '');
  const rows: FeedbackRow[] = [];
  if (body.trimStart().startsWith('{')) {
    body.split('\n').forEach((raw, i) => {
      if (!raw.trim()) return;
      let item: unknown;
      try {
        item = JSON.parse(raw);
      } catch (e) {
        throw badInput(`${file}:${i + 1}: not a JSON object: ${(e as Error).message}`);
      }
      const { predictionId, label } = (item ?? {}) as Record<string, unknown>;
      if (typeof predictionId !== 'string' || typeof label !== 'string')
        throw badInput(`${file}:${i + 1}: a line is {"predictionId": "<uuid>", "label": "<label>"}`);
      rows.push({ predictionId: predictionId.trim(), label, line: i + 1 });
    });
  } else {
    let first = true;
    for (const r of csvRecords(body, file)) {
      if (r.blank) continue;
      const header = first && r.fields[0]?.toLowerCase() === 'predictionid' && r.fields[1]?.toLowerCase() === 'label';
      first = false;
      if (header) continue;
      if (r.fields.length !== 2 || !r.fields[1])
        throw badInput(`${file}:${r.line}: a row is predictionId,label (got ${r.fields.length} fields)`);
      rows.push({ predictionId: r.fields[0]!, label: r.fields[1], line: r.line });
    }
  }
  if (!rows.length) throw badInput(`${file} holds no feedback (CSV rows predictionId,label or JSON lines)`);
  // Checked here, before anything is sent: a bad row in a later chunk must not leave the earlier ones recorded.
  const seen = new Map<string, FeedbackRow>();
  for (const r of rows) {
    if (!UUID.test(r.predictionId))
      throw badInput(`${file}:${r.line}: "${r.predictionId}" is not a prediction id (a UUID)`);
    const id = r.predictionId.toLowerCase();
    const before = seen.get(id);
    if (before && before.label !== r.label)
      throw badInput(
        `${file}:${r.line}: prediction ${id} is given "${r.label}" here and "${before.label}" on line ${before.line}`,
      );
    if (!before) seen.set(id, r);
  }
  return rows;
}

function readFeedbackFile(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw badInput(`cannot read ${file}: ${fileError(e)}`);
  }
}

const counts = (results: Feedback[]) => {
  const created = results.filter((f) => f.created).length;
  return `created ${created}, repeated ${results.length - created} (already recorded, unchanged)`;
};

/** Sends the rows in chunks of FEEDBACK_CHUNK, each all or nothing; a refused chunk stops the rest. */
async function feedbackFromFile(file: string, ctx: CommandContext): Promise<void> {
  const rows = parseFeedbackFile(readFeedbackFile(file), file);
  const chunks = Math.ceil(rows.length / FEEDBACK_CHUNK);
  const results: Feedback[] = [];
  const client = await ctx.connect();
  try {
    for (let k = 0; k < chunks; k++) {
      const chunk = rows.slice(k * FEEDBACK_CHUNK, (k + 1) * FEEDBACK_CHUNK);
      try {
        const d = await client.request<{ recordFeedbackBatch: Feedback[] }>(FEEDBACK_BATCH, {
          items: chunk.map((r) => ({ predictionId: r.predictionId, label: r.label })),
        });
        results.push(...d.recordFeedbackBatch);
        if (chunks > 1 && !ctx.json())
          ctx.io.err?.(`feedback: chunk ${k + 1}/${chunks} recorded (${counts(d.recordFeedbackBatch)})`);
      } catch (e) {
        if (!(e instanceof GatewayError)) throw e;
        const lines = `lines ${chunk[0]!.line}-${chunk[chunk.length - 1]!.line}`;
        const before = k ? `; the ${k} chunk(s) before were recorded (${counts(results)})` : '';
        const after = k + 1 < chunks ? `; the ${chunks - k - 1} chunk(s) after were not sent` : '';
        throw new GatewayError(
          e.code,
          `${e.message} (in ${file}, ${lines}: chunk ${k + 1}/${chunks}, none of it recorded${before}${after})`,
        );
      }
    }
  } finally {
    await client.close();
  }
  ctx.print({ recordFeedbackBatch: results }, () => `${results.length} predictions: ${counts(results)}`);
}

// ---- replay ----

const DATASET_ITEMS = `query($name: String!, $version: Int, $offset: Int, $first: Int) {
  dataset(name: $name, version: $version) { name version labels size items(offset: $offset, first: $first) { ordinal path label } } }`;
const MODEL_LABELS = `query($name: String!) { model(name: $name) { labels } }`;
const PREDICT = `query($ref: VersionRefInput!, $image: ImageInput!, $key: String) {
  predict(ref: $ref, image: $image, routingKey: $key, topK: 1) { id resolvedBy } }`;

interface ReplayOptions {
  dataset: string;
  limit?: number;
  concurrency?: number;
  routingKeyPrefix: string;
}

/** Feedback the test has taken in, counted on the arms that answer (the control alone in SHADOW). */
const judged = (e: Experiment) =>
  e.arms.filter((a) => e.mode === 'SPLIT' || a.isControl).reduce((n, a) => n + a.feedbackCount, 0);

/**
 * Sends a labeled dataset's images to the experiment's model as live, unversioned traffic (each
 * image's routing key: prefix + its path, so a rerun is sticky), records each answer's true label as
 * feedback, waits for the test to take it in, and prints the status.
 */
async function replay(ref: string, o: ReplayOptions, ctx: CommandContext): Promise<void> {
  const client = await ctx.connect();
  try {
    const start = await experiment(client, ref);
    if (start.status !== 'RUNNING')
      throw new GatewayError('CONFLICT', `experiment ${start.id} is ${start.status}: replay needs a running one`);
    const [name, at] = o.dataset.split('@');
    const version = at === undefined ? null : Number(at);
    if (version !== null && !(Number.isInteger(version) && version > 0))
      throw badInput(`--dataset: "${o.dataset}" is not name or name@version`);
    const { model } = await client.request<{ model: { labels: string[] } }>(MODEL_LABELS, { name: start.model.name });
    const items: { ordinal: number; path: string; label: string }[] = [];
    let dataset: { name: string; version: number; labels: string[]; size: number } | undefined;
    const wanted = o.limit ?? Infinity;
    while (items.length < wanted) {
      const d = await client.request<{
        dataset: { name: string; version: number; labels: string[]; size: number; items: typeof items } | null;
      }>(DATASET_ITEMS, { name, version, offset: items.length, first: Math.min(1000, wanted - items.length) });
      if (!d.dataset) throw new GatewayError('NOT_FOUND', `no dataset "${o.dataset}"`);
      dataset = d.dataset;
      const missing = dataset.labels.filter((l) => !model.labels.includes(l));
      if (missing.length)
        throw badInput(
          `dataset ${dataset.name} has labels the model ${start.model.name} lacks: ${missing.map((l) => `"${l}"`).join(', ')}`,
        );
      items.push(...d.dataset.items);
      if (!d.dataset.items.length || items.length >= dataset.size) break;
    }
    const answers: { predictionId: string; label: string }[] = [];
    const routed = new Map<string, number>();
    const errors = new Map<string, number>();
    let next = 0;
    let sent = 0;
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++]!;
        try {
          const bytes = await client.datasetImage(dataset!.name, dataset!.version, item.ordinal);
          const { predict } = await client.request<{ predict: { id: string | null; resolvedBy: string } }>(PREDICT, {
            ref: { model: start.model.name },
            image: { base64: bytes.toString('base64') },
            key: o.routingKeyPrefix + item.path,
          });
          routed.set(predict.resolvedBy, (routed.get(predict.resolvedBy) ?? 0) + 1);
          if (predict.id) answers.push({ predictionId: predict.id, label: item.label });
        } catch (e) {
          if (!(e instanceof GatewayError)) throw e;
          errors.set(e.code, (errors.get(e.code) ?? 0) + 1);
        }
        sent++;
        if (!ctx.json() && (sent % 250 === 0 || sent === items.length))
          ctx.io.err?.(`replay: ${sent}/${items.length} images sent`);
      }
    };
    const concurrency = o.concurrency ?? (start.mode === 'SHADOW' ? 1 : 2);
    await Promise.all(Array.from({ length: concurrency }, worker));
    const before = judged(start);
    for (let k = 0; k < answers.length; k += FEEDBACK_CHUNK)
      await client.request(FEEDBACK_BATCH, { items: answers.slice(k, k + FEEDBACK_CHUNK) });
    // The gateway takes feedback into the test within a moment (EXPERIMENT_MONITOR_MS): wait for it.
    let e = await experiment(client, start.id);
    for (let i = 0; i < 120 && e.status === 'RUNNING' && judged(e) < before + answers.length; i++) {
      await new Promise((r) => setTimeout(r, 250));
      e = await experiment(client, start.id);
    }
    const summary = {
      dataset: `${dataset!.name}@${dataset!.version}`,
      sent: items.length,
      routed: Object.fromEntries(routed),
      errors: Object.fromEntries(errors),
      feedback: answers.length,
    };
    ctx.print({ replay: summary, experiment: e }, () => {
      const arms = [...routed].map(([by, n]) => `${by.split('/').pop()} ${n}`).join(', ');
      const failed = errors.size ? `; failed: ${[...errors].map(([c, n]) => `${c} ${n}`).join(', ')}` : '';
      return (
        `replayed ${items.length} images of ${summary.dataset} as live traffic (answered by ${arms || 'none'}${failed}); ` +
        `feedback recorded for ${answers.length}\n\n${statusText(e)}`
      );
    });
  } finally {
    await client.close();
  }
}

// ---- the commands ----

/** `experiment start|status|stop|feedback`: online A/B experiments on a model's unversioned traffic. */
export function register(program: Command, ctx: CommandContext): void {
  const { connect, print, run } = ctx;
  const group = program
    .command('experiment')
    .description('online A/B experiments: route unversioned predictions to versions and test them on feedback');

  group
    .command('start <model>')
    .description(
      'start an experiment: unversioned predictions of the model go to its arms until it stops ' +
        '(the control defaults to the arm on the "baseline" alias, added as "control" when no arm is)',
    )
    .requiredOption('--name <name>', 'a name for people')
    .requiredOption(
      '--arm <name=ref[:weight]>',
      'an arm: name=<version|alias>[:weight], repeatable; weight default: SPLIT an even share with the control, SHADOW 1',
      parseArm,
    )
    .option('--control <arm>', 'the control arm (default: the arm on "baseline", else "control" added on it)')
    .option(
      '--mode <mode>',
      'split (each request answered by one arm) or shadow (the control answers)',
      parseMode,
      'SPLIT',
    )
    .option('--alpha <a>', 'significance level of the always-valid test (default 0.05)', numberArg('--alpha'))
    .option(
      '--min-samples <n>',
      'observations per arm (pairs in shadow) before it may decide (default 100)',
      intArg('--min-samples'),
    )
    .option(
      '--max-error-rate <r>',
      "guardrail: stop a candidate's traffic above this error rate (0..1)",
      numberArg('--max-error-rate'),
    )
    .option(
      '--max-latency-p99 <ms>',
      "guardrail: stop a candidate's traffic above this p99 latency",
      numberArg('--max-latency-p99'),
    )
    .option(
      '--guardrail-min-requests <n>',
      'requests before the guardrails judge an arm (default 100)',
      intArg('--guardrail-min-requests'),
    )
    .option('--auto-promote', 'move "champion" to a significantly better candidate and stop')
    .option('--seed <s>', 'seeds the draw of requests without a routing key', wholeArg('--seed'))
    .action(async (model: string, o: StartOptions) => {
      const client = await connect();
      try {
        const input = await startInput(client, model, o);
        const d = await client.request<{ startExperiment: Experiment }>(START, { input });
        print(d, () => startedText(d.startExperiment));
      } finally {
        await client.close();
      }
    });

  group
    .command('status [id|model]')
    .description("one experiment's arms, traffic, feedback and tests; without an id, the list of experiments")
    .option('--model <model>', 'list: only this model')
    .option('--status <status>', 'list: running or stopped', parseStatus)
    .option('--first <n>', 'list: at most N (newest first; default 50)', intArg('--first'))
    .action(async (id: string | undefined, o: { model?: string; status?: string; first?: number }) => {
      if (id === undefined)
        return run<{ experiments: ListedExperiment[] }>(
          LIST,
          { model: o.model, status: o.status, first: o.first },
          (d) => listText(d.experiments),
        );
      if (o.model !== undefined || o.status !== undefined || o.first !== undefined)
        throw badInput('--model, --status and --first list experiments: give them without an id');
      const client = await connect();
      try {
        const e = await experiment(client, id);
        print({ experiment: e }, () => statusText(e));
      } finally {
        await client.close();
      }
    });

  group
    .command('stop <id|model>')
    .description('stop an experiment after taking in the feedback recorded so far')
    .option('--promote', 'move "champion" to the candidate the test found better (refused when none is)')
    .action(async (ref: string, o: { promote?: boolean }) => {
      const client = await connect();
      try {
        const id = await experimentId(client, ref);
        const d = await client.request<{ stopExperiment: Experiment }>(STOP, { id, promote: Boolean(o.promote) });
        print(d, () => `stopped experiment ${d.stopExperiment.id}\n${statusText(d.stopExperiment)}`);
      } finally {
        await client.close();
      }
    });

  group
    .command('replay <id|model>')
    .description(
      "send a labeled dataset's images to the experiment's model as live traffic (routing key: its path), then their true labels as feedback, and print the status",
    )
    .requiredOption('--dataset <name[@version]>', "the labeled images (their labels must be the model's)")
    .option('--limit <n>', 'only its first N images', intArg('--limit'))
    .option(
      '--concurrency <n>',
      'requests at once (default 2; 1 for SHADOW, whose shadow runs are dropped when they would delay real requests)',
      intArg('--concurrency'),
    )
    .option('--routing-key-prefix <p>', "prefix of each image's routing key", '')
    .action((ref: string, o: ReplayOptions) => replay(ref, o, ctx));

  group
    .command('feedback [predictionId] [label]')
    .description(
      'record the true label of a routed prediction (its Prediction.id), or many with --file: CSV predictionId,label or JSON lines, sent in all-or-nothing chunks of ' +
        FEEDBACK_CHUNK,
    )
    .option('--file <file>', 'CSV (predictionId,label) or JSON lines ({"predictionId","label"}); - for stdin')
    .action(async (predictionId: string | undefined, label: string | undefined, o: { file?: string }) => {
      if (o.file !== undefined) {
        if (predictionId !== undefined) throw badInput('give a prediction id and a label, or --file, not both');
        return feedbackFromFile(o.file, ctx);
      }
      if (predictionId === undefined || label === undefined)
        throw badInput('give a prediction id and its true label, or --file with many');
      return run<{ recordFeedback: Feedback }>(FEEDBACK, { id: predictionId, label }, ({ recordFeedback: f }) =>
        f.created
          ? `prediction ${f.predictionId}: feedback "${f.label}" recorded`
          : `prediction ${f.predictionId}: feedback "${f.label}" was already recorded (unchanged)`,
      );
    });
}
