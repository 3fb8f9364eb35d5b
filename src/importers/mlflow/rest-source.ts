import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import YAML from 'yaml';
import { DomainError } from '../../common/errors';
import {
  metricValue,
  runStatus,
  type MlflowExperiment,
  type MlflowMetricPoint,
  type MlflowModelArtifact,
  type MlflowRegisteredModel,
  type MlflowRegisteredVersion,
  type MlflowRunData,
  type MlflowSource,
} from './source';

export interface MlflowAuth {
  token?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

type KV = { key: string; value: string }[] | undefined;
const kv = (list: KV): Record<string, string> => Object.fromEntries((list ?? []).map((e) => [e.key, e.value]));
/** int64 fields are JSON numbers from current servers, strings from 1.x ones. */
const int = (v: unknown): number | null => (v === undefined || v === null || v === '' ? null : Number(v));
const LOGGED_MODEL_ID = /^m-[0-9a-f]{32}$/;

function parseMlmodel(text: string): Record<string, any> {
  try {
    return YAML.parse(text) ?? {};
  } catch (e) {
    throw new DomainError('BAD_USER_INPUT', `an MLmodel file from the MLflow server is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}
const num = (v: unknown): number => (typeof v === 'number' ? v : metricValue(String(v)));

/**
 * An MLflow tracking server over its REST API (`/api/2.0/mlflow/...`), read-only. Paged endpoints
 * are followed to the end; credentials (bearer token or basic auth) go in the Authorization header
 * only, never into messages or logs.
 */
export class RestSource implements MlflowSource {
  private readonly base: URL;
  private readonly authHeader: string | null;
  private tmpDir: string | null = null;

  constructor(
    readonly trackingUri: string,
    auth: MlflowAuth,
    private readonly downloadDir: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = new URL(trackingUri.endsWith('/') ? trackingUri : `${trackingUri}/`);
    this.authHeader = auth.token
      ? `Bearer ${auth.token}`
      : auth.username !== undefined
        ? `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`
        : null;
  }

  private async request(pathAndQuery: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
    const url = new URL(pathAndQuery.replace(/^\//, ''), this.base);
    const shown = `${url.origin}${url.pathname}`;
    let res: Response;
    // The timeout bounds the wait for the response headers, not the download of a large body.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), this.timeoutMs);
    try {
      res = await fetch(url, {
        method: init.method ?? 'GET',
        headers: { accept: 'application/json', ...(init.body ? { 'content-type': 'application/json' } : {}), ...(this.authHeader ? { authorization: this.authHeader } : {}) },
        ...(init.body ? { body: JSON.stringify(init.body) } : {}),
        signal: controller.signal,
      });
    } catch (e) {
      const err = e as Error;
      if (err.name === 'TimeoutError' || controller.signal.aborted) throw new DomainError('TIMEOUT', `MLflow server did not answer ${shown} within ${this.timeoutMs} ms`);
      throw new DomainError('BAD_USER_INPUT', `cannot reach the MLflow server at ${shown}: ${(err.cause as Error)?.message ?? err.message}`);
    } finally {
      clearTimeout(timer);
    }
    if (res.ok) return res;
    const body = (await res.json().catch(() => null)) as { error_code?: string; message?: string } | null;
    const detail = body?.error_code ? `${body.error_code}: ${body.message ?? ''}` : `HTTP ${res.status}`;
    if (res.status === 401 || res.status === 403) {
      throw new DomainError('BAD_USER_INPUT', `the MLflow server refused the credentials for ${shown} (HTTP ${res.status}); set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD`);
    }
    if (res.status === 404 || body?.error_code === 'RESOURCE_DOES_NOT_EXIST') throw new DomainError('NOT_FOUND', `MLflow: ${detail}`);
    throw new DomainError('BAD_USER_INPUT', `MLflow server error on ${shown}: ${detail}`);
  }

  private async json<T>(pathAndQuery: string, init?: { method?: string; body?: unknown }): Promise<T> {
    const res = await this.request(pathAndQuery, init);
    try {
      return (await res.json()) as T;
    } catch {
      throw new DomainError('BAD_USER_INPUT', `the MLflow server sent a response that is not JSON (${pathAndQuery.split('?')[0]})`);
    }
  }

  /** Follows next_page_token until a page comes without one. */
  private async paged<T>(fetchPage: (token: string | undefined) => Promise<{ items: T[] | undefined; next?: string | undefined }>): Promise<T[]> {
    const all: T[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100_000; page++) {
      const { items, next } = await fetchPage(token);
      all.push(...(items ?? []));
      if (!next) return all;
      token = next;
    }
    throw new DomainError('BAD_USER_INPUT', 'the MLflow server kept paging');
  }

  async check(): Promise<void> {
    await this.json('api/2.0/mlflow/experiments/search', { method: 'POST', body: { max_results: 1 } });
  }

  async experiments(filter?: string | null): Promise<MlflowExperiment[]> {
    const map = (e: any): MlflowExperiment => ({
      id: String(e.experiment_id),
      name: String(e.name),
      artifactLocation: e.artifact_location ?? null,
      lifecycleStage: e.lifecycle_stage ?? 'active',
    });
    if (filter && !/^\d+$/.test(filter)) {
      const { experiment } = await this.json<{ experiment: unknown }>(`api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(filter)}`);
      return [map(experiment)];
    }
    const list = await this.paged(async (token) => {
      const r = await this.json<{ experiments?: unknown[]; next_page_token?: string }>('api/2.0/mlflow/experiments/search', {
        method: 'POST',
        body: { max_results: 1000, ...(token ? { page_token: token } : {}) },
      });
      return { items: r.experiments, next: r.next_page_token };
    });
    return list.map(map);
  }

  async runs(experimentId: string): Promise<MlflowRunData[]> {
    const runs = await this.paged(async (token) => {
      const r = await this.json<{ runs?: any[]; next_page_token?: string }>('api/2.0/mlflow/runs/search', {
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
      const { run } = await this.json<{ run: any }>(`api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(runId)}`);
      return await this.toRun(run, null);
    } catch (e) {
      if (e instanceof DomainError && e.code === 'NOT_FOUND') return null;
      throw e;
    }
  }

  private async toRun(run: any, experimentId: string | null): Promise<MlflowRunData> {
    const info = run.info ?? {};
    const runId = String(info.run_id ?? info.run_uuid);
    // runs/search and runs/get give the latest value per key; the series comes from metrics/get-history.
    const metrics: MlflowMetricPoint[] = [];
    for (const key of [...new Set(((run.data?.metrics ?? []) as { key: string }[]).map((m) => m.key))]) {
      const history = await this.paged(async (token) => {
        const r = await this.json<{ metrics?: any[]; next_page_token?: string }>(
          `api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=${encodeURIComponent(key)}&max_results=25000${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
        );
        return { items: r.metrics, next: r.next_page_token };
      });
      for (const m of history) metrics.push({ key, value: num(m.value), timestamp: int(m.timestamp) ?? 0, step: int(m.step) ?? 0 });
    }
    return {
      runId,
      experimentId: String(info.experiment_id ?? experimentId),
      runName: info.run_name ?? kv(run.data?.tags)['mlflow.runName'] ?? null,
      status: runStatus(info.status),
      startTime: int(info.start_time),
      endTime: int(info.end_time),
      artifactUri: info.artifact_uri ?? null,
      userId: info.user_id ?? null,
      lifecycleStage: info.lifecycle_stage ?? 'active',
      params: kv(run.data?.params),
      tags: kv(run.data?.tags),
      metrics,
      // MLflow 3 lists the LoggedModels a run produced under outputs.model_outputs.
      loggedModels: [...new Set(((run.outputs?.model_outputs ?? []) as { model_id?: string }[]).map((m) => String(m.model_id ?? '')).filter((id) => LOGGED_MODEL_ID.test(id)))],
    };
  }

  async registeredModels(name?: string | null): Promise<MlflowRegisteredModel[]> {
    const models = name ? await this.registeredModel(name) : await this.paged(async (token) => {
      const r = await this.json<{ registered_models?: any[]; next_page_token?: string }>(
        `api/2.0/mlflow/registered-models/search?max_results=1000${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
      );
      return { items: r.registered_models, next: r.next_page_token };
    });
    const out: MlflowRegisteredModel[] = [];
    for (const m of models) {
      const name = String(m.name);
      const versions = await this.paged(async (token) => {
        const filter = encodeURIComponent(`name='${name.replace(/'/g, "\\'")}'`);
        const r = await this.json<{ model_versions?: any[]; next_page_token?: string }>(
          `api/2.0/mlflow/model-versions/search?filter=${filter}&max_results=1000${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
        );
        return { items: r.model_versions, next: r.next_page_token };
      });
      // Aliases: on each version (strings) in 2.x/3.x servers, and on the model as {alias, version}.
      const byVersion = new Map<string, Set<string>>();
      for (const a of (m.aliases ?? []) as { alias: string; version: string }[]) byVersion.set(String(a.version), new Set([...(byVersion.get(String(a.version)) ?? []), a.alias]));
      const mapped: MlflowRegisteredVersion[] = versions
        .filter((v) => v.current_stage !== 'Deleted_Internal')
        .map((v) => ({
          name,
          version: Number(v.version),
          source: String(v.source ?? ''),
          runId: v.run_id ? String(v.run_id) : null,
          modelId: v.model_id ? String(v.model_id) : null,
          storageLocation: v.storage_location ? String(v.storage_location) : null,
          status: String(v.status ?? 'READY'),
          currentStage: v.current_stage ?? null,
          description: v.description || null,
          aliases: [...new Set([...((v.aliases ?? []) as string[]), ...(byVersion.get(String(v.version)) ?? [])])].sort(),
        }));
      out.push({ name, description: m.description || null, versions: mapped.sort((a, b) => a.version - b.version) });
    }
    return out;
  }

  /** registered-models/get: one model, or none (a 404 means the server has no such model). */
  private async registeredModel(name: string): Promise<any[]> {
    try {
      const { registered_model } = await this.json<{ registered_model: unknown }>(`api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(name)}`);
      return [registered_model];
    } catch (e) {
      if (e instanceof DomainError && e.code === 'NOT_FOUND') return [];
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

  private async listArtifacts(run: MlflowRunData, dir: string): Promise<{ path: string; is_dir?: boolean }[]> {
    return this.paged(async (token) => {
      const r = await this.json<{ files?: { path: string; is_dir?: boolean }[]; next_page_token?: string }>(
        `api/2.0/mlflow/artifacts/list?run_id=${run.runId}${dir ? `&path=${encodeURIComponent(dir)}` : ''}${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
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
        const parsed = parseMlmodel(await (await this.request(this.artifactUrl(run, mlmodel.path))).text());
        const dataName: string | undefined = parsed.flavors?.onnx?.data;
        const onnx = files.find((f) => !f.is_dir && (path.posix.basename(f.path) === dataName || f.path.endsWith('.onnx')));
        out.push({ artifactPath: dir, modelId: null, mlmodel: parsed, onnxFile: onnx ? await this.download(this.artifactUrl(run, onnx.path), `${run.runId}-${onnx.path}`) : null });
        return;
      }
      for (const f of files.filter((x) => x.is_dir)) await walk(f.path, depth + 1);
    };
    await walk('', 0);
    // MLflow 3 LoggedModels: their files are served by the logged-models artifact route.
    for (const id of run.loggedModels) {
      const file = (rel: string) => `ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files?artifact_file_path=${encodeURIComponent(rel)}`;
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
    const { artifact_uri } = await this.json<{ artifact_uri?: string }>(`api/2.0/mlflow/model-versions/get-download-uri?${q}`);
    const artifact = await this.modelFiles((rel) => `model-versions/get-artifact?path=${encodeURIComponent(rel)}&${q}`, v.modelId);
    return { ...artifact, location: artifact_uri ?? null };
  }

  /** An MLmodel folder served file by file: its MLmodel, then the ONNX file its onnx flavor names. */
  private async modelFiles(url: (rel: string) => string, modelId: string | null): Promise<MlflowModelArtifact> {
    let mlmodel: Record<string, any> = {};
    try {
      mlmodel = parseMlmodel(await (await this.request(url('MLmodel'))).text());
    } catch (e) {
      if (!(e instanceof DomainError && e.code === 'NOT_FOUND')) throw e;
    }
    const data: unknown = mlmodel.flavors?.onnx?.data;
    const onnxFile = typeof data === 'string' && data ? await this.download(url(data), `${modelId ?? 'version'}-${data}`) : null;
    return { artifactPath: '', modelId, mlmodel, onnxFile };
  }

  /** Streams an artifact to a temporary file (removed by close()). */
  private async download(url: string, name: string): Promise<string> {
    await mkdir(this.downloadDir, { recursive: true });
    this.tmpDir ??= await mkdtemp(path.join(this.downloadDir, 'mlflow-'));
    const file = path.join(this.tmpDir, `${randomUUID()}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`);
    const res = await this.request(url);
    if (!res.body) throw new DomainError('BAD_USER_INPUT', `MLflow sent an empty artifact ${name}`);
    await pipeline(Readable.fromWeb(res.body as any), createWriteStream(file));
    return file;
  }

  async close(): Promise<void> {
    if (this.tmpDir) await rm(this.tmpDir, { recursive: true, force: true });
    this.tmpDir = null;
  }
}
