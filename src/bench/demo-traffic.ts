/**
 * Requests against the demo registry (README: model fashion-classifier v1-v3, datasets
 * fashion-eval and fashion-smoke) that the soak and fault benches send: registry reads and
 * predictions on the demo's own 28x28 PNG samples (models/samples/*.png).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gql } from './graphql-client';
import type { MixOp } from './load-client';

export const MODEL = 'fashion-classifier';
export const SAMPLES_DIR = path.resolve(__dirname, '..', '..', 'models', 'samples');

export const Q = {
  models: `{ models { name versions { version status aliases } } }`,
  modelVersion:
    `query($v: Int!) { modelVersion(ref: { model: "${MODEL}", version: $v }) ` +
    `{ version status sha256 dvc { path md5 rev } mlflowRun { runName params metrics } } }`,
  datasets: `{ datasets { name version size digest } }`,
  comparisons: `{ comparisons(first: 5) { id status progress itemsDone total verdict } }`,
  predict: `query($ref: VersionRefInput!, $image: ImageInput!) { predict(ref: $ref, image: $image, topK: 1) { top { label } } }`,
  versions: `{ model(name: "${MODEL}") { versions { version status statusReason sha256 } } }`,
  createKey: `mutation($name: String!, $role: ApiKeyRole!) { createApiKey(name: $name, role: $role) { key } }`,
  revokeKey: `mutation($name: String!) { revokeApiKey(name: $name) { name revokedAt } }`,
} as const;

export interface Sample {
  file: string;
  base64: string;
}

/** The demo's sample images (bag, sneaker, trouser), base64. */
export function samples(): Sample[] {
  return readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((file) => ({ file, base64: readFileSync(path.join(SAMPLES_DIR, file)).toString('base64') }));
}

const body = (query: string, variables: Record<string, unknown> = {}) => JSON.stringify({ query, variables });

export const predictBody = (version: number, image: Sample) =>
  body(Q.predict, { ref: { model: MODEL, version }, image: { base64: image.base64 } });

/**
 * Predictions with one version over the samples; with `expected` (the label each sample got from
 * this version before the run), an answer with another top-1 label is WRONG_ANSWER.
 */
export function predictOp(version: number, images: Sample[], weight: number, expected?: string[]): MixOp {
  return {
    name: `predict v${version}`,
    weight,
    bodies: images.map((img) => predictBody(version, img)),
    ...(expected ? { expect: expected.map((label) => `"label":${JSON.stringify(label)}`) } : {}),
  };
}

/** Registry reads: models with their versions, one version with its DVC and MLflow provenance, datasets, comparisons. */
export function registryOps(weights: {
  models: number;
  modelVersion: number;
  datasets: number;
  comparisons: number;
}): MixOp[] {
  return [
    { name: 'models', weight: weights.models, bodies: [body(Q.models)] },
    { name: 'modelVersion', weight: weights.modelVersion, bodies: [1, 2, 3].map((v) => body(Q.modelVersion, { v })) },
    { name: 'datasets', weight: weights.datasets, bodies: [body(Q.datasets)] },
    { name: 'comparisons', weight: weights.comparisons, bodies: [body(Q.comparisons)] },
  ];
}

/** The top-1 label a version gives each sample now (loads the version if needed). */
export async function referenceLabels(url: string, key: string, version: number, images: Sample[]): Promise<string[]> {
  const labels: string[] = [];
  for (const img of images) {
    const d = await gql(url, key, Q.predict, { ref: { model: MODEL, version }, image: { base64: img.base64 } });
    labels.push(String(d.predict.top[0].label));
  }
  return labels;
}

/** Creates an API key through GraphQL (admin key) and returns its secret. */
export async function createKey(
  url: string,
  adminKey: string,
  name: string,
  role: 'VIEWER' | 'OPERATOR' | 'ADMIN',
): Promise<string> {
  return String((await gql(url, adminKey, Q.createKey, { name, role })).createApiKey.key);
}
