import { createHash } from 'node:crypto';
import { requireRole, type Actor } from '../auth/actor';
import { badInput, exhausted, notFound, conflict, modelLoadFailed, modelNotReady } from '../common/errors';
import { PAGES, pageSize } from '../common/paging';
import { checkText } from '../common/text';
import type { ComparisonRecord, ComparisonRepository } from './comparison.repository';
import type { ItemResult } from './items-csv';
import type { DatasetRecord } from '../registry/dataset.repository';
import type { DatasetService } from '../registry/dataset.service';
import type { ModelService } from '../registry/model.service';
import type { AliasRecord } from '../registry/alias.repository';
import type { RegistryLoaders } from '../registry/loaders';
import type { ModelRecord } from '../registry/model.repository';
import type { VersionRecord } from '../registry/version.repository';
import type { ResolvedVersion, VersionRef, VersionService } from '../registry/version.service';
import { REPORT_THUMBNAIL_PX, type Disagreement, type ReportNames } from './report';
import { DEFAULT_ALPHA } from './statistics';

export interface StartComparisonInput {
  candidate: VersionRef;
  /** Default: the "baseline" alias of the candidate's model. */
  baseline?: VersionRef | null;
  /** "name" (latest version) or "name@version". */
  dataset: string;
  alpha?: number | null;
  /** Evaluate the first N items only. */
  limit?: number | null;
  /** Model label → dataset label, for models that name the classes differently. */
  labelMapping?: Record<string, string> | null;
  /** Non-inferiority: the candidate passes when the accuracy difference's CI lower bound > -margin. */
  nonInferiorityMargin?: number | null;
  /** Recompute even when an identical comparison exists. */
  force?: boolean | null;
}

export interface ComparisonOptions {
  alpha: number;
  limit: number | null;
  labelMapping: Record<string, string>;
  nonInferiorityMargin: number | null;
}

/** Version numbers are 32-bit integers in the database: a larger one is refused before any query. */
const MAX_VERSION = 2 ** 31 - 1;

/** Items per page of the per-item export: one query each, never the whole comparison in memory. */
export const ITEM_PAGE_SIZE = 1000;

/** Thumbnails a report decodes at once. */
const THUMBNAIL_CONCURRENCY = 2;

/** Bumped when the evaluation itself changes, so stored results are not reused across it. */
const EVALUATOR_VERSION = 1;

/**
 * Index of each dataset label in a model's output, after the label mapping; refuses models whose
 * classes are not exactly the dataset's (a permutation is fine).
 */
export function labelPermutation(
  datasetLabels: string[],
  modelLabels: string[],
  mapping: Record<string, string>,
  who: string,
): number[] {
  const mapped = modelLabels.map((l) => mapping[l] ?? l);
  const missing = datasetLabels.filter((l) => !mapped.includes(l));
  const extra = mapped.filter((l) => !datasetLabels.includes(l));
  if (missing.length || extra.length || new Set(mapped).size !== mapped.length) {
    const parts = [
      missing.length ? `no class for ${missing.map((l) => `"${l}"`).join(', ')}` : '',
      extra.length ? `classes the dataset lacks: ${extra.map((l) => `"${l}"`).join(', ')}` : '',
    ].filter(Boolean);
    throw badInput(
      `mismatched labels: ${who} ${parts.join('; ') || 'maps two classes to one label'} (give labelMapping from model labels to dataset labels)`,
      {
        field: 'labelMapping',
        datasetLabels,
        modelLabels,
      },
    );
  }
  return datasetLabels.map((l) => mapped.indexOf(l));
}

/**
 * A label mapping as clients send it (any JSON): an object of model label → dataset label, every
 * key and value a string the database can store (it is kept with the comparison's options).
 */
function checkLabelMapping(raw: unknown): Record<string, string> {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw badInput('labelMapping must be a JSON object of model label → dataset label', { field: 'labelMapping' });
  for (const [key, value] of Object.entries(raw)) {
    checkText('labelMapping', key, 'a labelMapping key');
    if (typeof value !== 'string')
      throw badInput(`labelMapping "${key}" must map to a dataset label (a string)`, { field: 'labelMapping' });
    checkText('labelMapping', value, `labelMapping "${key}"`);
  }
  return raw as Record<string, string>;
}

/** startComparison, comparison(s), cancelComparison: validation and bookkeeping; the runner does the work. */
/** A comparison's id as clients send it (a GraphQL ID or a URL segment). */
export function parseComparisonId(id: string): number {
  if (!/^\d{1,9}$/.test(id)) throw badInput(`comparison id "${id}" is not a number`);
  return Number(id);
}

export class ComparisonService {
  constructor(
    private readonly deps: {
      comparisons: ComparisonRepository;
      versions: VersionService;
      models: ModelService;
      datasets: DatasetService;
      /** Tells the runner there is work. */
      kick: () => void;
      /** Queued or running jobs one key may have (COMPARISON_MAX_ACTIVE_PER_KEY). */
      maxActivePerKey: number;
    },
  ) {}

  private async resolveDataset(ref: string): Promise<DatasetRecord> {
    const m = /^([^@]+)(?:@(\d+))?$/.exec(checkText('dataset', ref).trim());
    if (!m) throw badInput(`dataset "${ref}" must be "name" or "name@version"`, { field: 'dataset' });
    if (m[2] && Number(m[2]) > MAX_VERSION)
      throw badInput(`dataset "${ref}": the version must be at most ${MAX_VERSION}`, { field: 'dataset' });
    const found = m[2] ? await this.deps.datasets.find(m[1]!, Number(m[2])) : await this.deps.datasets.latest(m[1]!);
    if (!found) throw notFound(`no dataset "${ref}"`, { dataset: ref });
    return found;
  }

  private usable(r: ResolvedVersion, role: string): void {
    const label = `${role} ${r.model.name} v${r.version.version}`;
    if (r.version.status === 'FAILED')
      throw modelLoadFailed(`${label} is FAILED: ${r.version.statusReason ?? 'unknown reason'}`);
    if (r.version.status !== 'READY') throw modelNotReady(`${label} is ${r.version.status}, not READY`);
  }

  async start(actor: Actor, input: StartComparisonInput): Promise<ComparisonRecord> {
    requireRole(actor, 'operator', 'starting a comparison');
    const alpha = input.alpha ?? DEFAULT_ALPHA;
    if (!(alpha > 0 && alpha < 1)) throw badInput(`alpha must be between 0 and 1, got ${alpha}`, { field: 'alpha' });
    if (input.limit != null && (!Number.isInteger(input.limit) || input.limit < 1))
      throw badInput(`limit must be a positive integer, got ${input.limit}`, { field: 'limit' });
    const margin = input.nonInferiorityMargin ?? null;
    if (margin !== null && !(margin >= 0 && margin < 1))
      throw badInput(`nonInferiorityMargin must be in [0, 1), got ${margin}`, { field: 'nonInferiorityMargin' });
    const labelMapping = checkLabelMapping(input.labelMapping);
    const candidate = await this.deps.versions.resolve(actor, input.candidate);
    const baseline = await this.deps.versions.resolve(
      actor,
      input.baseline ?? { model: candidate.model.name, alias: 'baseline' },
    );
    if (baseline.version.id === candidate.version.id)
      throw badInput(
        `the candidate and the baseline are the same version (${candidate.model.name} v${candidate.version.version})`,
      );
    this.usable(candidate, 'candidate');
    this.usable(baseline, 'baseline');
    const dataset = await this.resolveDataset(input.dataset);
    labelPermutation(
      dataset.labels,
      candidate.model.labels,
      labelMapping,
      `candidate ${candidate.model.name} v${candidate.version.version} has`,
    );
    labelPermutation(
      dataset.labels,
      baseline.model.labels,
      labelMapping,
      `baseline ${baseline.model.name} v${baseline.version.version} has`,
    );
    const sortedMapping = Object.fromEntries(Object.entries(labelMapping).sort(([a], [b]) => (a < b ? -1 : 1)));
    const options: ComparisonOptions = {
      alpha,
      limit: input.limit ?? null,
      labelMapping: sortedMapping,
      nonInferiorityMargin: margin,
    };
    // Everything the numbers depend on: the bytes, and how each model reads images and names classes.
    const side = (r: ResolvedVersion) => ({
      sha256: r.version.sha256,
      labels: r.model.labels,
      inputSpec: r.model.inputSpec,
    });
    const requestKey = createHash('sha256')
      .update(
        JSON.stringify({
          evaluator: EVALUATOR_VERSION,
          baseline: side(baseline),
          candidate: side(candidate),
          dataset: dataset.digest,
          options,
        }),
      )
      .digest('hex');
    // With force a finished result is not reused, but a run in progress is: it is a fresh one.
    const existing = input.force
      ? await this.deps.comparisons.findActive(requestKey)
      : await this.deps.comparisons.findReusable(requestKey);
    if (existing) return existing;
    const active = await this.deps.comparisons.countActiveBy(actor.name);
    if (active >= this.deps.maxActivePerKey) {
      throw exhausted(
        `"${actor.name}" already has ${active} comparisons queued or running ` +
          `(COMPARISON_MAX_ACTIVE_PER_KEY ${this.deps.maxActivePerKey}); wait for one to finish or cancel one`,
        5000,
        {
          active,
          max: this.deps.maxActivePerKey,
        },
      );
    }
    const created = await this.deps.comparisons.createUnlessActive({
      baselineId: baseline.version.id,
      candidateId: candidate.version.id,
      datasetId: dataset.id,
      options,
      requestKey,
      total: Math.min(input.limit ?? dataset.itemCount, dataset.itemCount),
      createdBy: actor.name,
    });
    this.deps.kick();
    return created;
  }

  async get(actor: Actor, id: number): Promise<ComparisonRecord | null> {
    requireRole(actor, 'viewer', 'reading comparisons');
    return this.deps.comparisons.find(id);
  }

  async list(actor: Actor, filter: { model?: string | null; first?: number | null }): Promise<ComparisonRecord[]> {
    requireRole(actor, 'viewer', 'listing comparisons');
    const first = pageSize(filter.first, PAGES.comparisons);
    const model = filter.model ? await this.deps.models.require(filter.model) : null;
    return this.deps.comparisons.list({ ...(model ? { modelId: model.id } : {}), first });
  }

  /** How a report names the two versions (with their aliases) and the dataset. */
  async names(record: ComparisonRecord, loaders: RegistryLoaders): Promise<ReportNames> {
    const [baseline, candidate] = (await loaders.versionById.loadMany([
      record.baselineId,
      record.candidateId,
    ])) as VersionRecord[];
    const [model, baselineModel] = (await loaders.modelById.loadMany([
      candidate!.modelId,
      baseline!.modelId,
    ])) as (ModelRecord | null)[];
    const [baselineAliases, candidateAliases] = (await loaders.aliasesByVersionId.loadMany([
      baseline!.id,
      candidate!.id,
    ])) as AliasRecord[][];
    const dataset = await loaders.datasetById.load(record.datasetId);
    const name = (v: VersionRecord, aliases: AliasRecord[]) =>
      `v${v.version}${aliases.length ? ` (${aliases.map((a) => a.name).join(', ')})` : ''}`;
    return {
      model: model?.name ?? '?',
      baseline:
        baseline!.modelId === candidate!.modelId
          ? name(baseline!, baselineAliases!)
          : `${baselineModel?.name ?? '?'} ${name(baseline!, baselineAliases!)}`,
      candidate: name(candidate!, candidateAliases!),
      dataset: dataset ? `${dataset.name}@${dataset.version}` : '?',
    };
  }

  /** The first `first` items each comparison's versions classified differently (the request's loaders batch them). */
  async disagreements(
    actor: Actor,
    records: readonly ComparisonRecord[],
    first: number,
    loaders: RegistryLoaders,
  ): Promise<Disagreement[][]> {
    requireRole(actor, 'viewer', 'reading comparisons');
    pageSize(first, PAGES.disagreements, { allowZero: true });
    const [datasets, rows] = await Promise.all([
      loaders.datasetById.loadMany(records.map((r) => r.datasetId)),
      this.deps.comparisons.disagreementsOf(
        records.map((r) => r.id),
        first,
      ),
    ]);
    const byComparison = new Map<number, typeof rows>(records.map((r) => [r.id, []]));
    for (const r of rows) byComparison.get(r.comparisonId)?.push(r);
    return records.map((record, i) => {
      const dataset = datasets[i];
      if (dataset instanceof Error) throw dataset;
      const labels = dataset?.labels ?? [];
      return byComparison.get(record.id)!.map((r) => ({
        ordinal: r.ordinal,
        path: r.path,
        sha256: r.sha256,
        label: labels[r.label] ?? String(r.label),
        baselineLabel: labels[r.baselineTop1] ?? String(r.baselineTop1),
        baselineProbability: r.baselineProbs[r.baselineTop1]!,
        candidateLabel: labels[r.candidateTop1] ?? String(r.candidateTop1),
        candidateProbability: r.candidateProbs[r.candidateTop1]!,
      }));
    });
  }

  /**
   * PNG thumbnails of the disagreeing items' stored images, for the HTML report's gallery: one per
   * item, in order, null where an image cannot be read (the report says so rather than failing).
   * A few at a time: sharp decodes on libuv's small thread pool, which inference shares.
   */
  async thumbnails(actor: Actor, items: readonly Disagreement[]): Promise<(Buffer | null)[]> {
    requireRole(actor, 'viewer', 'reading dataset images');
    const out: (Buffer | null)[] = new Array(items.length).fill(null);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < items.length; i = next++) {
        out[i] = await this.deps.datasets.thumbnail(items[i]!.sha256, REPORT_THUMBNAIL_PX).catch(() => null);
      }
    };
    await Promise.all(Array.from({ length: THUMBNAIL_CONCURRENCY }, worker));
    return out;
  }

  /**
   * Every item of a succeeded comparison, in dataset order, a page at a time (GET
   * /comparisons/<id>/items.csv). Refused with CONFLICT before the comparison has succeeded; the
   * checks run here, before the first page is read.
   */
  async itemPages(
    actor: Actor,
    record: ComparisonRecord,
    pageSize = ITEM_PAGE_SIZE,
  ): Promise<AsyncGenerator<ItemResult[], void, undefined>> {
    requireRole(actor, 'viewer', 'reading comparisons');
    if (record.status !== 'SUCCEEDED')
      throw conflict(`comparison ${record.id} is ${record.status}: its items are listed once it has SUCCEEDED`, {
        status: record.status,
      });
    const labels = (await this.deps.datasets.findById(record.datasetId))?.labels ?? [];
    const name = (index: number) => labels[index] ?? String(index);
    const repo = this.deps.comparisons;
    return (async function* pages() {
      for (let after = -1; ;) {
        const rows = await repo.itemPage(record.id, after, pageSize);
        if (rows.length === 0) return;
        yield rows.map((r) => ({
          ordinal: r.ordinal,
          path: r.path,
          label: name(r.label),
          baselineLabel: name(r.baselineTop1),
          baselineProbability: r.baselineProbability,
          candidateLabel: name(r.candidateTop1),
          candidateProbability: r.candidateProbability,
          agree: r.baselineTop1 === r.candidateTop1,
          baselineCorrect: r.baselineTop1 === r.label,
          candidateCorrect: r.candidateTop1 === r.label,
          baselineMs: r.baselineMs,
          candidateMs: r.candidateMs,
        }));
        if (rows.length < pageSize) return;
        after = rows[rows.length - 1]!.ordinal;
      }
    })();
  }

  async cancel(actor: Actor, id: number): Promise<ComparisonRecord> {
    requireRole(actor, 'operator', 'cancelling a comparison');
    const job = await this.deps.comparisons.find(id);
    if (!job) throw notFound(`no comparison ${id}`);
    if (job.status !== 'QUEUED' && job.status !== 'RUNNING')
      throw conflict(`comparison ${id} is already ${job.status}`);
    return (await this.deps.comparisons.requestCancel(id))!;
  }
}
