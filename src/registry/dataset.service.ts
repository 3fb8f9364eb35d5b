import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ArtifactMissingError } from '../artifacts/artifact-remote';
import type { ArtifactStore } from '../artifacts/artifact-store';
import { badInput, notFound, payloadTooLarge } from '../common/errors';
import { PAGES, pageSize } from '../common/paging';
import { requireRole, type Actor } from '../auth/actor';
import type { ImageLimits } from '../inference/image/decode';
import { thumbnail } from '../inference/image/thumbnail';
import type { DatasetItemRecord, DatasetRecord, DatasetRepository, NewDataset } from './dataset.repository';
import { checkLabels, checkName } from './names';

export interface NewDatasetInput {
  name: string;
  labels: string[];
  storageUri: string;
  provenance?: object;
  items: { path: string; labelIndex: number; sha256: string }[];
}

/**
 * The dataset's identity: sha256 over its labels and its items sorted by path. Two datasets with
 * the same digest hold the same labeled images, whatever their order or origin.
 */
export function datasetDigest(labels: string[], items: NewDatasetInput['items']): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(labels));
  h.update('\n');
  for (const item of [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    h.update(`${item.path}\t${item.labelIndex}\t${item.sha256}\n`);
  }
  return h.digest('hex');
}

export class DatasetService {
  constructor(
    private readonly datasets: DatasetRepository,
    private readonly artifacts: ArtifactStore,
    /** MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, IMAGE_DECODE_TIMEOUT_S: thumbnails are decoded within them. */
    private readonly imageLimits: ImageLimits,
  ) {}

  async list(actor: Actor, first?: number | null): Promise<DatasetRecord[]> {
    requireRole(actor, 'viewer', 'listing datasets');
    return this.datasets.list(pageSize(first, PAGES.datasets));
  }

  /** One dataset by name, its latest version unless `version` is given; null when there is none. */
  async get(actor: Actor, name: string, version?: number | null): Promise<DatasetRecord | null> {
    requireRole(actor, 'viewer', 'reading a dataset');
    if (version != null && (!isInt32(version) || version < 1))
      throw badInput(`dataset version must be a whole number from 1, not ${version}`, { field: 'version' });
    return version == null ? this.datasets.latest(name) : this.datasets.find(name, version);
  }

  async items(actor: Actor, dataset: DatasetRecord, offset: number, limit: number): Promise<DatasetItemRecord[]> {
    requireRole(actor, 'viewer', 'reading dataset items');
    return this.datasets.items(dataset.id, offset, limit);
  }

  /**
   * One item of a dataset (the latest version unless `version` is given) and the absolute path of its
   * stored image in the artifact store: what GET /datasets/<name>/items/<ordinal>/image serves.
   */
  async itemImage(
    actor: Actor,
    name: string,
    ordinal: number,
    version?: number,
  ): Promise<{ dataset: DatasetRecord; item: DatasetItemRecord; file: string }> {
    requireRole(actor, 'viewer', 'reading dataset images');
    if (!isInt32(ordinal) || ordinal < 0) throw badInput(`item ordinal must be a whole number from 0, not ${ordinal}`);
    if (version !== undefined && (!isInt32(version) || version < 1))
      throw badInput(`dataset version must be a whole number from 1, not ${version}`);
    const dataset = version === undefined ? await this.datasets.latest(name) : await this.datasets.find(name, version);
    if (!dataset)
      throw notFound(version === undefined ? `no dataset "${name}"` : `no version ${version} of dataset "${name}"`);
    const item = await this.datasets.item(dataset.id, ordinal);
    if (!item)
      throw notFound(
        `dataset "${name}" version ${dataset.version} has no item ${ordinal} (its items are 0..${dataset.itemCount - 1})`,
      );
    return { dataset, item, file: await this.imageFile(item) };
  }

  /**
   * Stores a new version of a dataset, or returns the latest version when it already holds exactly
   * these items (same digest): re-importing is idempotent.
   */
  async create(actor: Actor, input: NewDatasetInput): Promise<{ dataset: DatasetRecord; created: boolean }> {
    requireRole(actor, 'operator', 'registering a dataset');
    return this.datasets.createUnlessLatest(this.checked(input));
  }

  /** What create() would do, writing nothing: the latest version when it holds these items, else null. */
  async existing(actor: Actor, input: NewDatasetInput): Promise<DatasetRecord | null> {
    requireRole(actor, 'operator', 'registering a dataset');
    const data = this.checked(input);
    const last = await this.datasets.latest(data.name);
    return last?.digest === data.digest ? last : null;
  }

  // For other services and the job runners, which have checked access themselves: null when there is no such dataset.

  /** A version of a dataset by name and number. */
  find(name: string, version: number): Promise<DatasetRecord | null> {
    return this.datasets.find(name, version);
  }

  /** The latest version of a dataset. */
  latest(name: string): Promise<DatasetRecord | null> {
    return this.datasets.latest(name);
  }

  findById(id: number): Promise<DatasetRecord | null> {
    return this.datasets.findById(id);
  }

  /** Items by ordinal, from `offset`, at most `limit` (as `items`, without an actor). */
  itemsOf(datasetId: number, offset: number, limit: number): Promise<DatasetItemRecord[]> {
    return this.datasets.items(datasetId, offset, limit);
  }

  /**
   * A PNG thumbnail (longest side `size` px) of a stored item image, by its sha256: the image route's
   * `?size=N` and the HTML report's gallery. Access is the caller's to check (it found the item).
   */
  async thumbnail(sha256: string, size: number): Promise<Buffer> {
    const file = await this.imageFile({ sha256 });
    return thumbnail(await readBounded(file, this.imageLimits.maxBytes), size, this.imageLimits);
  }

  /** A stored image's local file, fetched from the shared store if need be; bytes nowhere are NOT_FOUND. */
  private async imageFile(object: { sha256: string; sizeBytes?: bigint }): Promise<string> {
    try {
      return await this.artifacts.ensure(object);
    } catch (e) {
      if (e instanceof ArtifactMissingError) throw notFound(`the image ${object.sha256}: ${e.message}`);
      throw e;
    }
  }

  private checked(input: NewDatasetInput): NewDataset {
    const name = checkName('dataset', input.name);
    const labels = checkLabels(input.labels);
    if (input.items.length === 0) throw badInput(`dataset "${name}" has no items`);
    const seen = new Set<string>();
    for (const item of input.items) {
      if (!Number.isInteger(item.labelIndex) || item.labelIndex < 0 || item.labelIndex >= labels.length) {
        throw badInput(`item ${item.path} has label index ${item.labelIndex}, outside 0..${labels.length - 1}`);
      }
      if (!/^[0-9a-f]{64}$/.test(item.sha256)) throw badInput(`item ${item.path} has an invalid sha256`);
      // Items are read relative to the dataset's storage: no absolute paths, no way out of it.
      if (
        item.path === '' ||
        path.posix.isAbsolute(item.path) ||
        item.path.includes('\\') ||
        path.posix.normalize(item.path) !== item.path ||
        item.path.startsWith('../')
      ) {
        throw badInput(`item path "${item.path}" must be a normalized relative path inside the dataset`);
      }
      if (seen.has(item.path)) throw badInput(`item ${item.path} appears twice`);
      seen.add(item.path);
    }
    return {
      name,
      labels,
      digest: datasetDigest(labels, input.items),
      storageUri: input.storageUri,
      provenance: input.provenance ?? {},
      items: input.items,
    };
  }
}

/** The file's bytes, refused unread past MAX_IMAGE_BYTES. */
async function readBounded(file: string, maxBytes: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    if ((await fh.stat()).size > maxBytes)
      throw payloadTooLarge(`the stored image has more than the ${maxBytes} bytes allowed (MAX_IMAGE_BYTES)`, {
        maxBytes,
      });
    return await readFile(fh);
  } finally {
    await fh.close();
  }
}

/** Ordinals and versions are INT columns: larger numbers name nothing. */
const isInt32 = (n: number) => Number.isInteger(n) && n <= 2_147_483_647;
