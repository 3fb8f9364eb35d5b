import CircuitBreaker from 'opossum';
import { backendUnavailable, DomainError, modelLoadFailed, modelNotReady, timedOut } from '../common/errors';
import type { Logger } from '../common/logger';
import type { TensorInfo } from '../registry/model-inspector';
import type { RemoteBackend } from '../registry/remote-backend';
import type { BackendLoaded, BackendOutput, BackendOutputs, InferenceBackend } from './backend';
import {
  decodeInferResponse,
  encodeInferRequest,
  errorMessage,
  HEADER_LENGTH,
  metadataProblems,
  modelMetadata,
} from './oip-protocol';
import { benchmarkInput, benchmarkRuns, type BenchmarkOptions, type BenchmarkResult } from './speed-benchmark';

/** How the gateway treats every remote engine (config.remoteInference). */
export interface OipOptions {
  /** Attempts after the first for a transport failure, a timeout or a 502/503/504. */
  retries: number;
  /** The first retry waits this long, each next one twice as long (with jitter). */
  retryBackoffMs: number;
  /** The breaker opens once this many requests in its window came to a result, and over half failed... */
  breakerMinRequests: number;
  /** ...in a window of this length. */
  breakerWindowMs: number;
  /** An open breaker lets one probe request through after this long; its success closes it. */
  breakerResetMs: number;
}

/** The version's graph as the registry recorded it at registration (ModelVersion.signature). */
export interface RecordedSignature {
  inputs?: TensorInfo[];
  outputs?: TensorInfo[];
  input?: string;
  output?: string;
}

/** A failed exchange with the remote engine: `transient` ones are retried and count against its breaker. */
class RemoteError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly timeout = false,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

const RETRY_STATUSES = new Set([502, 503, 504]);

interface Attached {
  remote: RemoteBackend;
  breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  /** When the breaker last opened (ms since the epoch): retryAfterMs counts from it. */
  openedAt: number;
  /** The outputs the remote model offers (runOutputs can ask for any of them). */
  outputs: readonly string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

/**
 * Runs versions on a remote engine over the Open Inference Protocol v2 (Triton, KServe): the gateway
 * keeps preprocessing, batching, routing, comparisons and experiments, and sends each batch's tensor.
 * A load checks the server's readiness and the remote model's metadata against the version's
 * signature. Each version has its own circuit breaker (opossum): while it is open, requests fail at
 * once with BACKEND_UNAVAILABLE instead of waiting on a dead engine.
 *
 * Calibration never runs here: an optimization calibrates the version's registered ONNX file on the
 * local runtime. runOutputs serves what the protocol allows, several of the remote model's declared
 * outputs in one request; intermediate tensors are not exposed by an OIP server and are refused.
 */
export class OipBackend implements Pick<InferenceBackend, 'run' | 'runOutputs' | 'benchmark' | 'unload' | 'close'> {
  readonly name = 'oip';
  private readonly attached = new Map<string, Attached>();

  constructor(
    private readonly options: OipOptions,
    private readonly logger: Logger,
  ) {}

  /** Whether `key` is a version this backend serves. */
  holds(key: string): boolean {
    return this.attached.has(key);
  }

  /**
   * Checks the remote engine for a version and serves it from then on. Throws MODEL_LOAD_FAILED when
   * the remote model does not fit the version's signature, BACKEND_UNAVAILABLE when the engine is not
   * reachable or not ready.
   */
  async load(key: string, remote: RemoteBackend, signature: RecordedSignature): Promise<BackendLoaded> {
    await this.unload(key);
    const where = `${remote.url} (model "${remote.model}"${remote.modelVersion ? ` version ${remote.modelVersion}` : ''})`;
    const down = (e: unknown) =>
      e instanceof DomainError ? e : backendUnavailable(`remote engine ${where}: ${(e as Error).message}`, 1000);
    const ready = await this.retried(remote, () => this.exchange(remote, 'GET', '/v2/health/ready')).catch((e) =>
      Promise.reject(down(e)),
    );
    if (ready.status !== 200) throw down(new Error(`GET /v2/health/ready answered ${ready.status}: not ready`));
    const meta = await this.retried(remote, () => this.exchange(remote, 'GET', this.modelPath(remote))).catch((e) =>
      Promise.reject(down(e)),
    );
    if (meta.status !== 200)
      throw modelLoadFailed(
        `remote engine ${where} has no such model: ${meta.status} ${errorMessage(meta.body.toString()) ?? ''}`.trim(),
      );
    const parsed = modelMetadata.safeParse(parseJson(meta.body.toString('utf8')));
    if (!parsed.success)
      throw modelLoadFailed(`remote engine ${where} answered model metadata that is not the protocol's`);
    const input = signature.inputs?.find((t) => t.name === signature.input);
    const output = signature.outputs?.find((t) => t.name === signature.output);
    if (!input || !output)
      throw modelLoadFailed('the version has no recorded signature to check the remote model against');
    const problems = metadataProblems(parsed.data, { input, output });
    if (problems.length)
      throw modelLoadFailed(`remote model ${where} does not match the version: ${problems.join('; ')}`, { problems });

    const breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      // Each attempt has its own deadline (the remote's timeoutMs): the breaker times nothing itself.
      timeout: false,
      resetTimeout: this.options.breakerResetMs,
      rollingCountTimeout: this.options.breakerWindowMs,
      volumeThreshold: this.options.breakerMinRequests,
      errorThresholdPercentage: 50,
      // A refusal of one request (4xx, a malformed answer) says nothing about the engine's health.
      errorFilter: (e: unknown) => !(e instanceof RemoteError && e.transient),
    });
    const attached: Attached = { remote, breaker, openedAt: 0, outputs: parsed.data.outputs.map((o) => o.name) };
    breaker.on('open', () => {
      attached.openedAt = Date.now();
      this.logger.warn({ remote: remote.url, model: remote.model }, 'remote engine failing: circuit breaker open');
    });
    breaker.on('halfOpen', () => this.logger.info({ remote: remote.url }, 'remote engine: probing (half-open)'));
    breaker.on('close', () => this.logger.info({ remote: remote.url }, 'remote engine: circuit breaker closed'));
    this.attached.set(key, attached);
    return {
      provider: `oip:${new URL(remote.url).host}`,
      warnings: [],
      memoryBytes: 0,
      inputs: [],
      outputs: attached.outputs,
    };
  }

  async run(
    key: string,
    input: { name: string; data: Float32Array; dims: number[] },
    outputName: string,
  ): Promise<BackendOutput> {
    const { outputs, ms } = await this.runOutputs(key, input, [outputName]);
    return { ...outputs[outputName]!, ms };
  }

  async runOutputs(
    key: string,
    input: { name: string; data: Float32Array; dims: number[] },
    outputNames: string[],
  ): Promise<BackendOutputs> {
    const a = this.get(key);
    const unknown = outputNames.filter((n) => !a.outputs.includes(n));
    if (unknown.length)
      throw modelNotReady(
        `the remote model offers only its declared outputs (${a.outputs.join(', ')}), not ${unknown.join(', ')}: intermediate tensors cannot be read over the Open Inference Protocol`,
      );
    const request = encodeInferRequest(input, outputNames, a.remote.protocol === 'BINARY');
    const started = performance.now();
    const outputs = await this.guarded(a, async () => {
      const res = await this.exchange(a.remote, 'POST', `${this.modelPath(a.remote)}/infer`, request);
      if (res.status !== 200) {
        const reason = errorMessage(res.body.toString('utf8')) ?? `HTTP ${res.status}`;
        throw new RemoteError(`infer answered ${res.status}: ${reason}`, RETRY_STATUSES.has(res.status));
      }
      const length = res.headers.get(HEADER_LENGTH);
      try {
        return decodeInferResponse(res.body, length === null ? null : Number(length), outputNames);
      } catch (e) {
        throw new RemoteError((e as Error).message, false);
      }
    });
    return { outputs, ms: performance.now() - started };
  }

  /** Round trips of a fixed input: what the remote engine plus the network cost the gateway. */
  async benchmark(
    key: string,
    input: { name: string; dims: number[] },
    outputName: string,
    options: BenchmarkOptions,
  ): Promise<BenchmarkResult> {
    const data = benchmarkInput(input.dims);
    return benchmarkRuns(() => this.run(key, { name: input.name, data, dims: input.dims }, outputName), options);
  }

  async unload(key: string): Promise<void> {
    const a = this.attached.get(key);
    if (!a) return;
    this.attached.delete(key);
    // Stops its rolling-window timer.
    a.breaker.shutdown();
  }

  async close(): Promise<void> {
    for (const key of [...this.attached.keys()]) await this.unload(key);
  }

  private get(key: string): Attached {
    const a = this.attached.get(key);
    if (!a) throw modelNotReady(`model ${key} is not loaded`);
    return a;
  }

  private modelPath(remote: RemoteBackend): string {
    const name = `/v2/models/${encodeURIComponent(remote.model)}`;
    return remote.modelVersion ? `${name}/versions/${encodeURIComponent(remote.modelVersion)}` : name;
  }

  /** `attempt` with retries, through the version's breaker; errors as the gateway's codes. */
  private async guarded<T>(a: Attached, attempt: () => Promise<T>): Promise<T> {
    try {
      return (await a.breaker.fire(() => this.retried(a.remote, attempt))) as T;
    } catch (e) {
      const where = `remote engine ${a.remote.url}`;
      if ((e as { code?: string }).code === 'EOPENBREAKER') {
        const wait = Math.max(1, a.openedAt + this.options.breakerResetMs - Date.now());
        throw backendUnavailable(`${where} is failing: requests fail fast until a probe succeeds`, wait, {
          remote: a.remote.url,
        });
      }
      if (e instanceof RemoteError && e.timeout)
        throw timedOut(
          `${where} did not answer within ${a.remote.timeoutMs} ms (${this.options.retries + 1} attempts)`,
        );
      if (e instanceof RemoteError && e.transient)
        throw backendUnavailable(`${where}: ${e.message}`, this.options.retryBackoffMs, { remote: a.remote.url });
      // The engine answered, but refused or garbled this request: retrying would not help.
      throw backendUnavailable(`${where} refused the request: ${(e as Error).message}`, 1000, {
        remote: a.remote.url,
      });
    }
  }

  /** Inference is a pure function of its input, so every transient failure may be retried. */
  private async retried<T>(remote: RemoteBackend, attempt: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await attempt();
      } catch (e) {
        if (!(e instanceof RemoteError && e.transient) || i >= this.options.retries) throw e;
        const wait = this.options.retryBackoffMs * 2 ** i * (0.5 + Math.random() / 2);
        this.logger.debug({ remote: remote.url, attempt: i + 1, err: e.message }, 'remote engine: retrying');
        await sleep(wait);
      }
    }
  }

  /** One HTTP exchange within the remote's timeout; transport failures and 502/503/504 as transient errors. */
  private async exchange(
    remote: RemoteBackend,
    method: 'GET' | 'POST',
    path: string,
    request?: { body: Buffer; headers: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: Buffer }> {
    let res: Response;
    let body: Buffer;
    try {
      res = await fetch(`${remote.url}${path}`, {
        method,
        headers: request?.headers,
        body: request?.body,
        signal: AbortSignal.timeout(remote.timeoutMs),
      });
      body = Buffer.from(await res.arrayBuffer());
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError')
        throw new RemoteError(`${method} ${path} did not answer within ${remote.timeoutMs} ms`, true, true);
      // fetch's TypeError carries the socket's error (ECONNREFUSED, ECONNRESET, ...) as its cause.
      throw new RemoteError(`${method} ${path} failed: ${err.cause?.code ?? err.cause?.message ?? err.message}`, true);
    }
    if (RETRY_STATUSES.has(res.status)) {
      const reason = errorMessage(body.toString('utf8'));
      throw new RemoteError(`${method} ${path} answered ${res.status}${reason ? `: ${reason}` : ''}`, true);
    }
    return { status: res.status, headers: res.headers, body };
  }
}
