import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import YAML from 'yaml';
import type { z } from 'zod';
import { badInput, DomainError, ErrorCode, notFound, timedOut } from '../../common/errors';
import { dig, fields } from '../parsed';
import {
  artifactsPage,
  downloadUri,
  errorBody,
  experimentByName,
  experimentsPage,
  firstIssue,
  loggedModelById,
  metricHistoryPage,
  modelVersionsPage,
  registeredModelByName,
  registeredModelsPage,
  runById,
  runsPage,
  type RestExperiment,
  type RestRegisteredModel,
  type RestRun,
} from './rest-payloads';
import {
  int64,
  metricValue,
  runStatus,
  type MlflowExperiment,
  type MlflowLoggedModel,
  type MlflowMetricPoint,
  type MlflowModelArtifact,
  type MlflowRegisteredModel,
  type MlflowRegisteredVersion,
  type MlflowRunData,
  type MlflowSource,
} from './source';
import { serverIdentity } from './store-identity';

export interface MlflowAuth {
  token?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

/** Params or tags as a record; a key sent without a value is left out. */
const kv = (list: { key: string; value?: string | null | undefined }[] | null | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).flatMap((e) => (e.value == null ? [] : [[e.key, e.value]])));
const LOGGED_MODEL_ID = /^m-[0-9a-f]{32}$/;

function parseMlmodel(text: string): Record<string, unknown> {
  try {
    return fields(YAML.parse(text));
  } catch (e) {
    throw badInput(`an MLmodel file from the MLflow server is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}
const num = (v: unknown): number => (typeof v === 'number' ? v : metricValue(String(v)));

/** A JSON answer (or an MLmodel file) bigger than this is not MLflow's. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** The largest artifact downloaded (an ONNX model). */
export const MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3;
/** A download's whole duration; between two chunks the request timeout (MLFLOW_TIMEOUT_MS) applies. */
export const DOWNLOAD_TIMEOUT_MS = 60 * 60_000;
export const MAX_REDIRECTS = 5;
/** Only the start of an error answer is read: enough for MLflow's error_code and message. */
const MAX_ERROR_BYTES = 64 * 1024;

export interface RestLimits {
  maxJsonBytes: number;
  maxDownloadBytes: number;
  downloadTimeoutMs: number;
}

const DEFAULT_LIMITS: RestLimits = {
  maxJsonBytes: MAX_JSON_BYTES,
  maxDownloadBytes: MAX_DOWNLOAD_BYTES,
  downloadTimeoutMs: DOWNLOAD_TIMEOUT_MS,
};

export interface RestOptions {
  /** MLFLOW_ALLOWED_HOSTS: redirects may lead only there. */
  allowedHosts: readonly string[];
  /** Per JSON request (headers and body); per pause between two chunks of a download. */
  timeoutMs?: number;
  limits?: Partial<RestLimits>;
}

/** Whether a URL's host (`host:port`, or the bare hostname for any port) is in MLFLOW_ALLOWED_HOSTS. */
export function isAllowedHost(url: URL, allowedHosts: readonly string[]): boolean {
  return allowedHosts.includes(url.host) || allowedHosts.includes(url.hostname);
}

/** Hosts where plain http does not leave the machine, so credentials may go over it. */
const LOOPBACK = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/i;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Ends an exchange past its overall deadline, or when nothing arrived for `idleMs`. */
class Deadline {
  private readonly controller = new AbortController();
  private readonly overall: NodeJS.Timeout;
  private idle: NodeJS.Timeout | undefined;
  /** Which limit ended the exchange, if one did. */
  expired: 'overall' | 'idle' | null = null;

  constructor(
    readonly overallMs: number,
    readonly idleMs: number | null,
  ) {
    this.overall = setTimeout(() => this.expire('overall'), overallMs);
    this.progress();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Bytes arrived: the idle clock starts again. */
  progress(): void {
    if (this.idleMs === null) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.expire('idle'), this.idleMs);
  }

  clear(): void {
    clearTimeout(this.overall);
    clearTimeout(this.idle);
  }

  private expire(which: 'overall' | 'idle'): void {
    this.expired ??= which;
    this.controller.abort(new DOMException('timeout', 'TimeoutError'));
  }
}

/** Hands each chunk of a body to `sink`; every chunk restarts the deadline's idle clock. */
async function eachChunk(
  res: Response,
  deadline: Deadline,
  sink: (chunk: Uint8Array) => void | Promise<void>,
): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      deadline.progress();
      await sink(value);
    }
  } catch (e) {
    // Stops the transfer (a body past its cap is not read to its end).
    await reader.cancel().catch(() => undefined);
    throw e;
  }
}

/** A whole body, refused as soon as it passes `max` bytes (declared or received). */
async function readCapped(
  res: Response,
  max: number,
  deadline: Deadline,
  tooLarge: () => DomainError,
): Promise<string> {
  if (Number(res.headers.get('content-length')) > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  await eachChunk(res, deadline, (chunk) => {
    total += chunk.byteLength;
    if (total > max) throw tooLarge();
    chunks.push(chunk);
  });
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Writes a body to `file`, refused as soon as it passes `max` bytes (declared or received). */
async function saveCapped(
  res: Response,
  file: string,
  max: number,
  deadline: Deadline,
  tooLarge: () => DomainError,
): Promise<void> {
  if (Number(res.headers.get('content-length')) > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const out = createWriteStream(file);
  let total = 0;
  try {
    await eachChunk(res, deadline, async (chunk) => {
      total += chunk.byteLength;
      if (total > max) throw tooLarge();
      if (!out.write(chunk)) await once(out, 'drain');
    });
    out.end();
    await finished(out);
  } catch (e) {
    out.destroy();
    throw e;
  }
}

/** MLflow's error answer (`{"error_code": ..., "message": ...}`), or null when it is not one. */
function parseErrorBody(text: string): z.output<typeof errorBody> | null {
  try {
    const body = errorBody.safeParse(JSON.parse(text));
    return body.success ? body.data : null;
  } catch {
    return null;
  }
}

/**
 * An MLflow tracking server over its REST API (`/api/2.0/mlflow/...`), read-only. Paged endpoints
 * are followed to the end; credentials (bearer token or basic auth) go in the Authorization header
 * only, never into messages or logs, and only over https or to a loopback host. Redirects are
 * followed by hand (MAX_REDIRECTS, allowed hosts only, credentials kept to their origin); bodies
 * are size-capped and read within the timeout.
 */
export class RestSource implements MlflowSource {
  private readonly base: URL;
  private readonly authHeader: string | null;
  private readonly allowedHosts: readonly string[];
  private readonly timeoutMs: number;
  private readonly limits: RestLimits;
  private tmpDir: string | null = null;

  constructor(
    readonly trackingUri: string,
    auth: MlflowAuth,
    private readonly downloadDir: string,
    options: RestOptions,
  ) {
    // Requests go below the normalised URL (`HTTP://Host//` and `http://host` reach the same endpoints).
    this.base = new URL(`${serverIdentity(trackingUri)}/`);
    this.allowedHosts = options.allowedHosts;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.authHeader = auth.token
      ? `Bearer ${auth.token}`
      : auth.username !== undefined
        ? `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`
        : null;
    // Refused rather than sent without: a silent anonymous import would hide the misconfiguration.
    if (this.authHeader && this.base.protocol === 'http:' && !LOOPBACK.test(this.base.hostname)) {
      throw badInput(
        'refusing to send the MLflow credentials (MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD) ' +
          `over plain http to ${this.base.host}: use https, or a loopback address (127.0.0.1, ::1, localhost)`,
        { field: 'trackingUri' },
      );
    }
  }

  /**
   * Sends a request and follows redirects by hand: at most MAX_REDIRECTS, only to hosts in
   * MLFLOW_ALLOWED_HOSTS, and the Authorization header never to another origin.
   */
  private async send(
    pathAndQuery: string,
    init: { method?: string; body?: unknown },
    signal: AbortSignal,
  ): Promise<{ res: Response; shown: string }> {
    let url = new URL(pathAndQuery.replace(/^\//, ''), this.base);
    let method = init.method ?? 'GET';
    let body = init.body !== undefined ? JSON.stringify(init.body) : undefined;
    let auth = this.authHeader;
    for (let hop = 0; ; hop++) {
      const shown = `${url.origin}${url.pathname}`;
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          redirect: 'manual',
          headers: {
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(auth ? { authorization: auth } : {}),
          },
          ...(body !== undefined ? { body } : {}),
          signal,
        });
      } catch (e) {
        if (signal.aborted) throw e;
        const err = e as Error;
        throw badInput(`cannot reach the MLflow server at ${shown}: ${(err.cause as Error)?.message ?? err.message}`);
      }
      if (!REDIRECTS.has(res.status)) return { res, shown };
      await res.body?.cancel().catch(() => undefined);
      if (hop >= MAX_REDIRECTS)
        throw badInput(`the MLflow server redirected ${shown} more than ${MAX_REDIRECTS} times (MAX_REDIRECTS)`);
      const next = this.redirectTarget(res.headers.get('location'), url, shown);
      if (next.origin !== url.origin) auth = null;
      // As fetch does: 303, and 301/302 after a POST, continue as a GET without the body.
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
  }

  private redirectTarget(location: string | null, from: URL, shown: string): URL {
    let next: URL | null;
    try {
      next = location ? new URL(location, from) : null;
    } catch {
      next = null;
    }
    if (!next || (next.protocol !== 'http:' && next.protocol !== 'https:'))
      throw badInput(`the MLflow server redirected ${shown} to an invalid location`);
    if (!isAllowedHost(next, this.allowedHosts)) {
      throw badInput(
        `the MLflow server redirected ${shown} to ${next.host}, which is not in MLFLOW_ALLOWED_HOSTS (${this.allowedHosts.join(', ') || 'empty'})`,
      );
    }
    return next;
  }

  /** One request whose answer `consume` reads whole, headers and body within `deadline`. */
  private async exchange<T>(
    pathAndQuery: string,
    init: { method?: string; body?: unknown },
    deadline: Deadline,
    consume: (res: Response, shown: string) => Promise<T>,
  ): Promise<T> {
    const first = new URL(pathAndQuery.replace(/^\//, ''), this.base);
    let shown = `${first.origin}${first.pathname}`;
    let answered = false;
    try {
      const sent = await this.send(pathAndQuery, init, deadline.signal);
      shown = sent.shown;
      answered = true;
      if (!sent.res.ok) throw await this.refusal(sent.res, shown, deadline);
      return await consume(sent.res, shown);
    } catch (e) {
      if (deadline.expired) throw this.timeout(deadline, shown, answered);
      if (e instanceof DomainError) throw e;
      throw badInput(`the MLflow server broke off ${shown}: ${(e as Error)?.message ?? String(e)}`);
    } finally {
      deadline.clear();
    }
  }

  private timeout(deadline: Deadline, shown: string, answered: boolean): DomainError {
    const ms = deadline.expired === 'idle' ? deadline.idleMs : deadline.overallMs;
    if (!answered) return timedOut(`MLflow server did not answer ${shown} within ${ms} ms`);
    if (deadline.expired === 'idle') return timedOut(`MLflow server sent nothing of ${shown} for ${ms} ms`);
    return timedOut(`MLflow server did not finish sending ${shown} within ${ms} ms`);
  }

  /** The domain error an error status stands for, with MLflow's error_code when it sent one. */
  private async refusal(res: Response, shown: string, deadline: Deadline): Promise<DomainError> {
    // An error answer past MAX_ERROR_BYTES is not MLflow's: only its status is used.
    const text = await readCapped(res, MAX_ERROR_BYTES, deadline, () =>
      badInput(`error answer over ${MAX_ERROR_BYTES} bytes`),
    ).catch(() => '');
    const body = parseErrorBody(text);
    const detail = body?.error_code ? `${body.error_code}: ${body.message ?? ''}` : `HTTP ${res.status}`;
    if (res.status === 401 || res.status === 403) {
      return badInput(
        `the MLflow server refused the credentials for ${shown} (HTTP ${res.status}); set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD`,
      );
    }
    // What answered: check() tells a server that is not MLflow's (no error_code) from MLflow's refusals.
    const facts = { httpStatus: res.status, errorCode: body?.error_code ?? null };
    if (res.status === 404 || body?.error_code === 'RESOURCE_DOES_NOT_EXIST')
      return notFound(`MLflow: ${detail}`, facts);
    return badInput(`MLflow server error on ${shown}: ${detail}`, facts);
  }

  /** A small answer (JSON, an MLmodel file): whole, within the timeout and MAX_JSON_BYTES. */
  private async text(pathAndQuery: string, init: { method?: string; body?: unknown } = {}): Promise<string> {
    const deadline = new Deadline(this.timeoutMs, null);
    const max = this.limits.maxJsonBytes;
    return this.exchange(pathAndQuery, init, deadline, (res, shown) =>
      readCapped(res, max, deadline, () =>
        badInput(`the MLflow server's answer to ${shown} is larger than ${max} bytes (MAX_JSON_BYTES)`),
      ),
    );
  }

  /** A JSON answer, checked against the shape MLflow sends (rest-payloads.ts). */
  private async json<S extends z.ZodType>(
    pathAndQuery: string,
    schema: S,
    init?: { method?: string; body?: unknown },
  ): Promise<z.output<S>> {
    const text = await this.text(pathAndQuery, init);
    const endpoint = pathAndQuery.split('?')[0];
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw badInput(`the MLflow server sent a response that is not JSON (${endpoint})`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success)
      throw badInput(`the MLflow server sent a malformed response (${endpoint}): ${firstIssue(parsed.error)}`);
    return parsed.data;
  }

  /** Follows next_page_token until a page comes without one. */
  private async paged<T>(
    fetchPage: (token: string | undefined) => Promise<{ items: T[] | null | undefined; next?: string | null }>,
  ): Promise<T[]> {
    const all: T[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100_000; page++) {
      const { items, next } = await fetchPage(token);
      all.push(...(items ?? []));
      if (!next) return all;
      token = next;
    }
    throw badInput('the MLflow server kept paging');
  }

  async identity(): Promise<string> {
    return serverIdentity(this.trackingUri);
  }

  /**
   * One experiments/search: an answer that is not MLflow's (a 404 or an error status without MLflow's
   * `error_code`, an HTML page, JSON of another shape) means the URL is not a tracking server.
   */
  async check(): Promise<void> {
    const endpoint = 'api/2.0/mlflow/experiments/search';
    const shown = new URL(endpoint, this.base).href;
    const notMlflow = (what: string) =>
      badInput(
        `${this.trackingUri} is not an MLflow tracking server: POST ${shown} ${what}; expected MLflow's REST API ` +
          '(JSON under /api/2.0/mlflow/; include any path prefix the server is mounted under)',
        { field: 'trackingUri' },
      );
    let answer: string;
    try {
      answer = await this.text(endpoint, { method: 'POST', body: { max_results: 1 } });
    } catch (e) {
      const facts = e instanceof DomainError ? e.details : undefined;
      // A 5xx without MLflow's body may be a proxy in front of a server that is down: left as it is.
      if (facts && typeof facts.httpStatus === 'number' && facts.httpStatus < 500 && !facts.errorCode)
        throw notMlflow(`answered HTTP ${facts.httpStatus}`);
      if (facts?.errorCode === 'ENDPOINT_NOT_FOUND')
        throw notMlflow('answered ENDPOINT_NOT_FOUND (an MLflow server older than 1.28 has no experiments/search)');
      throw e;
    }
    let body: unknown;
    try {
      body = JSON.parse(answer);
    } catch {
      throw notMlflow(
        `answered with something that is not JSON (${answer.trimStart().startsWith('<') ? 'an HTML page' : 'text'})`,
      );
    }
    if (!experimentsPage.safeParse(body).success || Array.isArray(body))
      throw notMlflow('answered JSON that is not an experiments/search result');
  }

  async experiments(filter?: string | null): Promise<MlflowExperiment[]> {
    const map = (e: RestExperiment): MlflowExperiment => ({
      id: String(e.experiment_id),
      name: e.name,
      artifactLocation: e.artifact_location ?? null,
      lifecycleStage: e.lifecycle_stage ?? 'active',
    });
    if (filter && !/^\d+$/.test(filter)) {
      const { experiment } = await this.json(
        `api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(filter)}`,
        experimentByName,
      );
      return [map(experiment)];
    }
    const list = await this.paged(async (token) => {
      const r = await this.json('api/2.0/mlflow/experiments/search', experimentsPage, {
        method: 'POST',
        body: { max_results: 1000, ...(token ? { page_token: token } : {}) },
      });
      return { items: r.experiments, next: r.next_page_token };
    });
    return list.map(map);
  }

  async runs(experimentId: string): Promise<MlflowRunData[]> {
    const runs = await this.paged(async (token) => {
      const r = await this.json('api/2.0/mlflow/runs/search', runsPage, {
        method: 'POST',
        body: { experiment_ids: [experimentId], max_results: 1000, ...(token ? { page_token: token } : {}) },
      });
      return { items: r.runs, next: r.next_page_token };
    });
    const out: MlflowRunData[] = [];
    for (const run of runs) out.push(await this.toRun(run, experimentId));
    return out;
  }

  async run(runId: string): Promise<MlflowRunData | null> {
    try {
      const { run } = await this.json(`api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(runId)}`, runById);
      return await this.toRun(run, null);
    } catch (e) {
      if (e instanceof DomainError && e.code === ErrorCode.NOT_FOUND) return null;
      throw e;
    }
  }

  private async toRun(run: RestRun, experimentId: string | null): Promise<MlflowRunData> {
    const { info } = run;
    // The payload schema requires one of the two.
    const runId = (info.run_id || info.run_uuid)!;
    // runs/search and runs/get give the latest value per key; the series comes from metrics/get-history.
    const metrics: MlflowMetricPoint[] = [];
    for (const key of [...new Set((run.data?.metrics ?? []).map((m) => m.key))]) {
      const history = await this.paged(async (token) => {
        const r = await this.json(
          `api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=${encodeURIComponent(key)}` +
            `&max_results=25000${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
          metricHistoryPage,
        );
        return { items: r.metrics, next: r.next_page_token };
      });
      for (const m of history)
        metrics.push({ key, value: num(m.value), timestamp: int64(m.timestamp) ?? 0, step: int64(m.step) ?? 0 });
    }
    return {
      runId,
      experimentId: String(info.experiment_id ?? experimentId),
      runName: info.run_name ?? kv(run.data?.tags)['mlflow.runName'] ?? null,
      status: runStatus(info.status),
      startTime: int64(info.start_time),
      endTime: int64(info.end_time),
      artifactUri: info.artifact_uri ?? null,
      userId: info.user_id ?? null,
      lifecycleStage: info.lifecycle_stage ?? 'active',
      params: kv(run.data?.params),
      tags: kv(run.data?.tags),
      metrics,
      // MLflow 3 lists the LoggedModels a run produced under outputs.model_outputs.
      loggedModels: [
        ...new Set(
          (run.outputs?.model_outputs ?? []).map((m) => m.model_id ?? '').filter((id) => LOGGED_MODEL_ID.test(id)),
        ),
      ],
    };
  }

  async registeredModels(name?: string | null): Promise<MlflowRegisteredModel[]> {
    const models = name
      ? await this.registeredModel(name)
      : await this.paged(async (token) => {
          const r = await this.json(
            `api/2.0/mlflow/registered-models/search?max_results=1000${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
            registeredModelsPage,
          );
          return { items: r.registered_models, next: r.next_page_token };
        });
    const out: MlflowRegisteredModel[] = [];
    for (const m of models) {
      const name = m.name;
      const versions = await this.paged(async (token) => {
        const filter = encodeURIComponent(`name='${name.replace(/'/g, "\\'")}'`);
        const r = await this.json(
          `api/2.0/mlflow/model-versions/search?filter=${filter}&max_results=1000${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
          modelVersionsPage,
        );
        return { items: r.model_versions, next: r.next_page_token };
      });
      // Aliases: on each version (strings) in 2.x/3.x servers, and on the model as {alias, version}.
      const byVersion = new Map<string, Set<string>>();
      for (const a of m.aliases ?? [])
        byVersion.set(String(a.version), new Set([...(byVersion.get(String(a.version)) ?? []), a.alias]));
      const mapped: MlflowRegisteredVersion[] = versions
        .filter((v) => v.current_stage !== 'Deleted_Internal')
        .map((v) => ({
          name,
          version: Number(v.version),
          source: v.source ?? '',
          runId: v.run_id || null,
          modelId: v.model_id || null,
          storageLocation: v.storage_location || null,
          status: v.status ?? 'READY',
          currentStage: v.current_stage ?? null,
          description: v.description || null,
          aliases: [...new Set([...(v.aliases ?? []), ...(byVersion.get(String(v.version)) ?? [])])].sort(),
        }));
      out.push({ name, description: m.description || null, versions: mapped.sort((a, b) => a.version - b.version) });
    }
    return out;
  }

  async registeredModelNames(limit: number): Promise<string[]> {
    const r = await this.json(
      `api/2.0/mlflow/registered-models/search?max_results=${Math.max(1, Math.floor(limit))}`,
      registeredModelsPage,
    );
    return (r.registered_models ?? []).map((m) => m.name).slice(0, limit);
  }

  /** logged-models/{id}; null on a 404 (no such model, or a server older than MLflow 3). */
  async loggedModel(modelId: string): Promise<MlflowLoggedModel | null> {
    if (!LOGGED_MODEL_ID.test(modelId)) return null;
    try {
      const { model } = await this.json(`api/2.0/mlflow/logged-models/${modelId}`, loggedModelById);
      const { info } = model;
      return {
        modelId: info.model_id,
        experimentId: info.experiment_id != null ? String(info.experiment_id) : null,
        sourceRunId: info.source_run_id || null,
        name: info.name ?? null,
        artifactLocation: info.artifact_uri || null,
      };
    } catch (e) {
      if (e instanceof DomainError && e.code === ErrorCode.NOT_FOUND) return null;
      throw e;
    }
  }

  /** registered-models/get: one model, or none (a 404 means the server has no such model). */
  private async registeredModel(name: string): Promise<RestRegisteredModel[]> {
    try {
      const { registered_model } = await this.json(
        `api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(name)}`,
        registeredModelByName,
      );
      return [registered_model];
    } catch (e) {
      if (e instanceof DomainError && e.code === ErrorCode.NOT_FOUND) return [];
      throw e;
    }
  }

  private artifactUrl(run: MlflowRunData, rel: string): string {
    // A proxied artifact store (mlflow-artifacts:/...) is served under /api/2.0/mlflow-artifacts/artifacts.
    if (run.artifactUri?.startsWith('mlflow-artifacts:')) {
      const prefix = run.artifactUri.replace(/^mlflow-artifacts:\/*/, '');
      return `api/2.0/mlflow-artifacts/artifacts/${prefix}/${rel}`.replace(/\/+/g, '/');
    }
    return `get-artifact?path=${encodeURIComponent(rel)}&run_uuid=${run.runId}`;
  }

  private async listArtifacts(run: MlflowRunData, dir: string): Promise<{ path: string; is_dir?: boolean | null }[]> {
    return this.paged(async (token) => {
      const dirParam = dir ? `&path=${encodeURIComponent(dir)}` : '';
      const pageParam = token ? `&page_token=${encodeURIComponent(token)}` : '';
      const r = await this.json(
        `api/2.0/mlflow/artifacts/list?run_id=${run.runId}${dirParam}${pageParam}`,
        artifactsPage,
      );
      return { items: r.files, next: r.next_page_token };
    });
  }

  async modelArtifacts(run: MlflowRunData): Promise<MlflowModelArtifact[]> {
    const out: MlflowModelArtifact[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      if (depth > 4) return;
      const files = await this.listArtifacts(run, dir);
      const mlmodel = files.find((f) => !f.is_dir && path.posix.basename(f.path) === 'MLmodel');
      if (mlmodel) {
        const parsed = parseMlmodel(await this.text(this.artifactUrl(run, mlmodel.path)));
        const dataName = dig(parsed, 'flavors', 'onnx', 'data');
        const onnx = files.find(
          (f) => !f.is_dir && (path.posix.basename(f.path) === dataName || f.path.endsWith('.onnx')),
        );
        out.push({
          artifactPath: dir,
          modelId: null,
          mlmodel: parsed,
          onnxFile: onnx ? await this.download(this.artifactUrl(run, onnx.path), `${run.runId}-${onnx.path}`) : null,
        });
        return;
      }
      for (const f of files.filter((x) => x.is_dir)) await walk(f.path, depth + 1);
    };
    await walk('', 0);
    // MLflow 3 LoggedModels: their files are served by the logged-models artifact route.
    for (const id of run.loggedModels) {
      const file = (rel: string) =>
        `ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files?artifact_file_path=${encodeURIComponent(rel)}`;
      out.push(await this.modelFiles(file, id));
    }
    return out;
  }

  /**
   * A registered version's files, whatever its source (`runs:/`, `models:/m-…`, a copy, s3://…):
   * get-download-uri says where they are, `/model-versions/get-artifact` serves them by name and
   * version, so no listing of the underlying store is needed.
   */
  async versionArtifact(v: MlflowRegisteredVersion): Promise<MlflowModelArtifact | null> {
    const q = `name=${encodeURIComponent(v.name)}&version=${v.version}`;
    const { artifact_uri } = await this.json(`api/2.0/mlflow/model-versions/get-download-uri?${q}`, downloadUri);
    const artifact = await this.modelFiles(
      (rel) => `model-versions/get-artifact?path=${encodeURIComponent(rel)}&${q}`,
      v.modelId,
    );
    return { ...artifact, location: artifact_uri ?? null };
  }

  /** An MLmodel folder served file by file: its MLmodel, then the ONNX file its onnx flavor names. */
  private async modelFiles(url: (rel: string) => string, modelId: string | null): Promise<MlflowModelArtifact> {
    let mlmodel: Record<string, unknown> = {};
    try {
      mlmodel = parseMlmodel(await this.text(url('MLmodel')));
    } catch (e) {
      if (!(e instanceof DomainError && e.code === ErrorCode.NOT_FOUND)) throw e;
    }
    const data = dig(mlmodel, 'flavors', 'onnx', 'data');
    const onnxFile =
      typeof data === 'string' && data ? await this.download(url(data), `${modelId ?? 'version'}-${data}`) : null;
    return { artifactPath: '', modelId, mlmodel, onnxFile };
  }

  /** Streams an artifact to a temporary file (removed by close()), within MAX_DOWNLOAD_BYTES and the timeouts. */
  private async download(url: string, name: string): Promise<string> {
    await mkdir(this.downloadDir, { recursive: true });
    this.tmpDir ??= await mkdtemp(path.join(this.downloadDir, 'mlflow-'));
    const file = path.join(this.tmpDir, `${randomUUID()}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`);
    const { maxDownloadBytes: max, downloadTimeoutMs } = this.limits;
    const deadline = new Deadline(downloadTimeoutMs, this.timeoutMs);
    try {
      await this.exchange(url, {}, deadline, async (res, shown) => {
        if (!res.body) throw badInput(`MLflow sent an empty artifact ${name}`);
        await saveCapped(res, file, max, deadline, () =>
          badInput(`the MLflow artifact ${shown} is larger than ${max} bytes (MAX_DOWNLOAD_BYTES)`),
        );
      });
    } catch (e) {
      await rm(file, { force: true });
      throw e;
    }
    return file;
  }

  async close(): Promise<void> {
    if (this.tmpDir) await rm(this.tmpDir, { recursive: true, force: true });
    this.tmpDir = null;
  }
}
