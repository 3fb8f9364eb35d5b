import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { badInput } from '../../common/errors';
import type { GatewayClient } from '../client';
import { table } from '../format';
import { fileError, intArg, versionRef, type CommandContext } from './shared';

interface Prediction {
  /** Set when an experiment routed (and logged) it: what `experiment feedback` takes. */
  id: string | null;
  modelVersion: { version: number };
  resolvedBy: string;
  executionProvider: string;
  top: { label: string; probability: number }[];
  timingsMs: { total: number; batchSize: number };
}

const PREDICT_BATCH =
  'query($ref: VersionRefInput!, $images: [ImageInput!]!, $topK: Int, $key: String) ' +
  '{ predictBatch(ref: $ref, images: $images, topK: $topK, routingKey: $key) ' +
  '{ id modelVersion { version } resolvedBy executionProvider top { label probability } timingsMs } }';
/** Images per request: a predictBatch carries at most 64. */
const IMAGES_PER_REQUEST = 32;

function readImage(file: string): string {
  try {
    return readFileSync(file).toString('base64');
  } catch (e) {
    throw badInput(`cannot read ${file}: ${fileError(e)}`);
  }
}

async function predictAll(
  client: GatewayClient,
  ref: ReturnType<typeof versionRef>,
  images: string[],
  topK: number,
  routingKey: string | undefined,
): Promise<Prediction[]> {
  const results: Prediction[] = [];
  for (let i = 0; i < images.length; i += IMAGES_PER_REQUEST) {
    const batch = images.slice(i, i + IMAGES_PER_REQUEST).map((f) => ({ base64: readImage(f) }));
    const d = await client.request<{ predictBatch: Prediction[] }>(PREDICT_BATCH, {
      ref,
      images: batch,
      topK,
      key: routingKey,
    });
    results.push(...d.predictBatch);
  }
  return results;
}

function predictionTable(images: string[], results: Prediction[]): string {
  // Routed by an experiment: the id to give `experiment feedback` with the true label.
  const routed = results.some((p) => p.id);
  return table(
    results.map((p, i) => ({
      image: images[i]!,
      ...(routed ? { prediction: p.id } : {}),
      version: `v${p.modelVersion.version}`,
      resolvedBy: p.resolvedBy,
      top: p.top.map((c) => `${c.label} ${(c.probability * 100).toFixed(1)}%`).join('; '),
      ms: p.timingsMs.total.toFixed(1),
    })),
  );
}

/** `predict`: images are read here and sent as base64, in requests of IMAGES_PER_REQUEST. */
export function register(program: Command, { connect, print }: CommandContext): void {
  program
    .command('predict <model> <image...>')
    .description(
      'classify images (read here, sent as base64) with a version: --version N, --alias A, or the default route',
    )
    .option('--version <n>', 'version number', intArg('--version'))
    .option('--alias <alias>', 'alias, e.g. baseline')
    .option('--top <k>', 'classes to show per image', intArg('--top'), 3)
    .option(
      '--routing-key <key>',
      'sticky routing: on a model with a running experiment, the same key goes to the same arm',
    )
    .action(async (model, images: string[], o) => {
      const ref = versionRef(model, o.version !== undefined ? String(o.version) : o.alias);
      const client = await connect();
      let results: Prediction[];
      try {
        results = await predictAll(client, ref, images, o.top, o.routingKey);
      } finally {
        await client.close();
      }
      print({ predictBatch: results }, () => predictionTable(images, results));
    });
}
