import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** Roles in increasing order of power; also the values stored in the database. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/**
 * DVC_ALLOWED_REMOTES entries: `host` (any port) or `host:port` for http(s) remotes and S3 endpoints
 * (`endpointurl`), `s3://bucket` for S3 buckets. Hosts are compared in lower case.
 */
export const ALLOWED_REMOTE =
  /^(?:s3:\/\/[a-z0-9][a-z0-9._-]*|(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::\d{1,5})?)$/i;

/** Execution providers onnxruntime-node knows by name (CUDA and TensorRT need its CUDA install). */
export const PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'webgpu'] as const;
export type Provider = (typeof PROVIDERS)[number];

const perSecond = z.coerce
  .number({ error: 'must be a number of requests per second (0: unlimited)' })
  .min(0, 'must not be negative');

const count = (unit: string) =>
  z.coerce
    .number({ error: `must be a number of ${unit}` })
    .int(`must be a whole number of ${unit}`)
    .positive('must be positive');

const env = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'], { error: 'must be development, production or test' })
    .default('production'),
  PORT: z.coerce
    .number({ error: 'must be an integer between 0 and 65535' })
    .int('must be an integer between 0 and 65535')
    .min(0, 'must be an integer between 0 and 65535')
    .max(65535, 'must be an integer between 0 and 65535')
    .default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1, 'must be a directory path').default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgresql:// URL (leave it unset for the embedded database)')
    .optional(),
  DATABASE_QUERY_TIMEOUT_S: z.coerce
    .number({ error: 'must be a number of seconds' })
    .positive('must be positive')
    .max(3600, 'must be at most 3600')
    .default(5),
  DATABASE_CONNECT_TIMEOUT_S: z.coerce
    .number({ error: 'must be a number of seconds' })
    .positive('must be positive')
    .max(600, 'must be at most 600')
    .default(3),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  ANONYMOUS_READ: bool.default(false),
  ADMIN_API_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  PINNED_ALIASES: list.default(['baseline', 'champion']),
  DEMO_SEED: bool.default(true),
  IMPORT_ROOTS: list.optional(),
  MLFLOW_ALLOWED_HOSTS: list.default([]),
  MLFLOW_TRACKING_TOKEN: z.string().optional(),
  MLFLOW_TRACKING_USERNAME: z.string().optional(),
  MLFLOW_TRACKING_PASSWORD: z.string().optional(),
  MLFLOW_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int()
    .positive('must be positive')
    .default(30_000),
  DVC_ALLOWED_REMOTES: list
    .pipe(
      z.array(
        z
          .string()
          .regex(ALLOWED_REMOTE, 'must list entries of the form host, host:port or s3://bucket (comma-separated)'),
      ),
    )
    .default([]),
  DVC_REMOTE_MAX_BYTES: count('bytes').default(2 * 1024 ** 3),
  DVC_REMOTE_TIMEOUT_S: count('seconds').max(3600, 'must be at most 3600').default(60),
  DEMO_REPO: z.string().min(1).optional(),
  ARTIFACT_STORE: z.enum(['local', 's3'], { error: 'must be local or s3' }).default('local'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3-63 of a-z, 0-9, ".", "-")')
    .optional(),
  S3_PREFIX: z
    .string()
    .regex(/^[\w!.*'()/-]*$/, "must be a key prefix of letters, digits and !-_.*'()/")
    .default(''),
  S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: bool.optional(),
  S3_TIMEOUT_S: count('seconds').max(3600, 'must be at most 3600').default(30),
  MODEL_MEMORY_BUDGET_MB: count('megabytes').default(4096),
  EXECUTION_PROVIDERS: list
    .pipe(
      z
        .array(z.enum(PROVIDERS, { error: `must list providers among ${PROVIDERS.join(', ')}` }))
        .min(1, 'must name at least one provider'),
    )
    .default(['cpu']),
  CUDA_DEVICE_ID: z.coerce
    .number({ error: 'must be a GPU index (0, 1, ...)' })
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(255, 'must be at most 255')
    .default(0),
  INFERENCE_WORKERS: count('worker threads').max(64, 'must be at most 64').default(1),
  INTRA_OP_THREADS: count('threads').max(256, 'must be at most 256').optional(),
  INFERENCE_SPINNING: bool.default(true),
  INFERENCE_TIMEOUT_S: z.coerce
    .number({ error: 'must be a number of seconds' })
    .positive('must be positive')
    .max(3600, 'must be at most 3600')
    .default(60),
  INFERENCE_NICE: z.coerce
    .number({ error: 'must be a nice value from 0 to 19' })
    .int('must be a whole number')
    .min(0, 'must be from 0 to 19')
    .max(19, 'must be from 0 to 19')
    .default(10),
  REMOTE_RETRIES: z.coerce
    .number({ error: 'must be a number of retries' })
    .int('must be a whole number')
    .min(0, 'must be from 0 to 10')
    .max(10, 'must be from 0 to 10')
    .default(2),
  REMOTE_RETRY_BACKOFF_MS: count('milliseconds').max(60_000, 'must be at most 60000').default(100),
  REMOTE_BREAKER_MIN_REQUESTS: count('requests').max(10_000, 'must be at most 10000').default(5),
  REMOTE_BREAKER_WINDOW_MS: count('milliseconds').max(3_600_000, 'must be at most 3600000').default(10_000),
  REMOTE_BREAKER_RESET_MS: count('milliseconds').max(3_600_000, 'must be at most 3600000').default(10_000),
  SPEED_MEASURE_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(60_000, 'must be at most 60000')
    .default(1000),
  MAX_BATCH_SIZE: count('images').max(1024, 'must be at most 1024').default(32),
  MAX_QUEUE_DELAY_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .min(0, 'must not be negative')
    .max(1000, 'must be at most 1000')
    .default(0),
  MAX_IMAGE_BYTES: count('bytes').default(20 * 1024 * 1024),
  MAX_IMAGE_PIXELS: count('pixels').default(50_000_000),
  IMAGE_DECODE_TIMEOUT_S: count('seconds').max(3600, 'must be at most 3600').default(10),
  COMPARISON_CONCURRENCY: count('jobs').max(64, 'must be at most 64').default(1),
  COMPARISON_LEASE_S: count('seconds').max(3600, 'must be at most 3600').default(30),
  COMPARISON_MAX_ACTIVE_PER_KEY: count('jobs').max(1000, 'must be at most 1000').default(4),
  CALIBRATION_MEMORY_MB: z.coerce
    .number({ error: 'must be a number of megabytes' })
    .positive('must be positive')
    .max(65536, 'must be at most 65536')
    .default(256),
  EXPERIMENT_LOG_RETENTION_DAYS: count('days').max(3650, 'must be at most 3650').default(30),
  EXPERIMENT_LOG_FLUSH_MS: count('milliseconds').max(60_000, 'must be at most 60000').default(200),
  EXPERIMENT_MONITOR_MS: count('milliseconds').max(600_000, 'must be at most 600000').default(1000),
  EXPERIMENT_SHADOW_CONCURRENCY: z.coerce
    .number({ error: 'must be a whole number of images' })
    .int('must be a whole number of images')
    .min(0, 'must not be negative')
    .max(1024, 'must be at most 1024')
    .default(2),
  GRAPHQL_MAX_DEPTH: count('levels').max(100, 'must be at most 100').default(10),
  GRAPHQL_MAX_ALIASES: count('aliases').max(10_000, 'must be at most 10000').default(20),
  GRAPHQL_MAX_DIRECTIVES: count('directives').max(10_000, 'must be at most 10000').default(20),
  GRAPHQL_MAX_TOKENS: count('tokens').max(1_000_000, 'must be at most 1000000').default(2000),
  GRAPHQL_MAX_QUERY_BYTES: count('bytes')
    .max(10 * 1024 * 1024, 'must be at most 10 MB')
    .default(64 * 1024),
  GRAPHQL_MAX_COST: count('cost units').default(50_000),
  INFERENCE_QUEUE_PER_VERSION: count('images').max(1_000_000, 'must be at most 1000000').default(256),
  INFERENCE_QUEUE_TOTAL: count('images').max(1_000_000, 'must be at most 1000000').default(1024),
  PREPROCESS_WORKERS: count('worker threads').max(64, 'must be at most 64').optional(),
  RATE_LIMIT_VIEWER: perSecond.default(100),
  RATE_LIMIT_OPERATOR: perSecond.default(300),
  RATE_LIMIT_ADMIN: perSecond.default(1000),
  AUTH_FAILURES_PER_MINUTE: count('failures').max(100_000, 'must be at most 100000').default(30),
  SSE_MAX_PER_KEY: count('streams').max(10_000, 'must be at most 10000').default(8),
  SSE_MAX_TOTAL: count('streams').max(100_000, 'must be at most 100000').default(256),
  HTTP_MAX_CONNECTIONS: count('connections').max(1_000_000, 'must be at most 1000000').default(1024),
  HTTP_HEADERS_TIMEOUT_S: count('seconds').max(3600, 'must be at most 3600').default(20),
  HTTP_REQUEST_TIMEOUT_S: count('seconds').max(3600, 'must be at most 3600').default(120),
  HTTP_KEEP_ALIVE_TIMEOUT_S: count('seconds').max(3600, 'must be at most 3600').default(5),
  METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  METRICS_PORT: z.coerce
    .number({ error: 'must be an integer between 1 and 65535' })
    .int('must be an integer between 1 and 65535')
    .min(1, 'must be an integer between 1 and 65535')
    .max(65535, 'must be an integer between 1 and 65535')
    .optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  SESSION_IDLE_MINUTES: count('minutes')
    .max(7 * 24 * 60, 'must be at most 10080 (a week)')
    .default(60),
  SESSION_MAX_HOURS: count('hours')
    .max(30 * 24, 'must be at most 720 (30 days)')
    .default(12),
  TRUST_PROXY: z
    .string()
    .regex(/^[\w.:/, -]+$/, 'must be true, false, a number of hops or a list of addresses/subnets')
    .transform((v): boolean | number | string =>
      /^(true|yes)$/.test(v) ? true : /^(false|no)$/.test(v) ? false : /^\d+$/.test(v) ? Number(v) : v,
    )
    .default(false),
});

/** Requests per second a key may make, by role (0: unlimited); bursts of twice that pass. */
export type RateLimits = Readonly<Record<Role, number>>;

/** models/ beside src/ (or dist/): the demo project of this repository. */
const DEFAULT_DEMO_REPO = path.resolve(__dirname, '..', '..', 'models');

export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  /** Absolute; everything the gateway writes lives below it. */
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** On a PostgreSQL server: how long one statement, and getting a connection, may take before UNAVAILABLE. */
  readonly databaseTimeouts: { readonly queryMs: number; readonly connectMs: number };
  readonly logLevel: string;
  readonly anonymousRead: boolean;
  readonly adminApiKey: string | undefined;
  /** Aliases that only admins may move, and whose versions stay loaded under memory pressure. */
  readonly pinnedAliases: readonly string[];
  /** MLflow tracking servers the importer may contact, its credentials (never logged) and timeout. */
  readonly mlflow: {
    readonly allowedHosts: readonly string[];
    readonly token: string | undefined;
    readonly username: string | undefined;
    readonly password: string | undefined;
    readonly timeoutMs: number;
  };
  /**
   * DVC remotes `import dvc` may read besides local folders under IMPORT_ROOTS: http(s) hosts and
   * S3 endpoints (`host` or `host:port`) and S3 buckets (`s3://bucket`); the cap on one downloaded
   * object, and the default connect and read timeouts (a remote's `connect_timeout`/`read_timeout` win).
   */
  readonly dvc: {
    readonly allowedRemotes: readonly string[];
    readonly remoteMaxBytes: number;
    readonly remoteTimeoutMs: number;
  };
  /**
   * Where committed artifacts are shared between gateways besides each one's DATA_DIR (its cache):
   * nowhere (`local`), or an S3 bucket (AWS or an S3-compatible server at `endpoint`).
   */
  readonly artifactStore: ArtifactStoreConfig;
  /** Folders the gateway may read model files and projects from (absolute). */
  readonly importRoots: readonly string[];
  /** The DVC project imported into an empty registry on start; null: no seeding. */
  readonly demoRepo: string | null;
  readonly inference: {
    /** Loaded models beyond this are unloaded, least recently used first (pinned aliases stay). */
    readonly memoryBudgetBytes: number;
    /** Preference order; a version's `inference.providers` tag overrides it. CPU is the last resort. */
    readonly providers: readonly Provider[];
    /** The GPU the cuda and tensorrt providers run on (onnxruntime-node passes no other option to them). */
    readonly cudaDeviceId: number;
    readonly workers: number;
    readonly intraOpThreads: number;
    /** Nice value of the inference worker threads and their onnxruntime pools (Linux only). */
    readonly nice: number;
    /** Whether onnxruntime's intra-op pool threads may spin while waiting for work. */
    readonly spinning: boolean;
    /** How long one batch may run before its requests fail with TIMEOUT and its worker is replaced. */
    readonly runTimeoutMs: number;
    /** A speed measurement times each batch size for at least this long (speed-benchmark.ts). */
    readonly speedMeasureMs: number;
    readonly maxBatchSize: number;
    readonly maxQueueDelayMs: number;
    readonly image: { readonly maxBytes: number; readonly maxPixels: number; readonly timeoutSeconds: number };
    /** Threads that decode and resize images off the gateway's thread. */
    readonly preprocessWorkers: number;
  };
  /** Versions served by a remote Open Inference Protocol engine (src/inference/oip-backend.ts). */
  readonly remoteInference: {
    /** Attempts after the first for a transport failure, a timeout or a 502/503/504. */
    readonly retries: number;
    readonly retryBackoffMs: number;
    /** A version's breaker opens when over half of at least this many requests in its window failed. */
    readonly breakerMinRequests: number;
    readonly breakerWindowMs: number;
    /** An open breaker lets a probe through after this long. */
    readonly breakerResetMs: number;
  };
  readonly comparisons: {
    /** Jobs this process runs at once; the rest wait in the queue. */
    readonly concurrency: number;
    /** How long a job stays claimed without a checkpoint before another process may resume it. */
    readonly leaseMs: number;
    /** Queued or running jobs one key may have; more are refused with RESOURCE_EXHAUSTED. */
    readonly maxActivePerKey: number;
    /**
     * int8 calibration: the intermediate tensors one run of the calibration graph returns stay under
     * this many bytes (more runs per batch, smaller batches), however large a model's activations.
     */
    readonly calibrationMemoryBytes: number;
  };
  readonly experiments: {
    /** The prediction log and feedback are deleted after this long (the tests' running state is kept). */
    readonly retentionMs: number;
    /** Logged predictions wait at most this long in memory before one INSERT writes them all. */
    readonly logFlushMs: number;
    /** How often the sequential tests take in new feedback (also at once after recordFeedback). */
    readonly monitorMs: number;
    /** Shadow images in progress at once; past it, and while real requests queue, shadow runs are dropped. */
    readonly shadowConcurrency: number;
  };
  /** Operations over these are refused with QUERY_TOO_COMPLEX before anything runs. */
  readonly graphql: {
    readonly maxDepth: number;
    readonly maxAliases: number;
    readonly maxDirectives: number;
    readonly maxTokens: number;
    readonly maxQueryBytes: number;
    /** Objects cost 1, lists multiply by their page size, an image through a model costs IMAGE_COST. */
    readonly maxCost: number;
  };
  /** Fairness between callers. */
  readonly limits: {
    readonly rate: RateLimits;
    /** Failed authentications per client address and minute before it is answered 429 unverified. */
    readonly authFailuresPerMinute: number;
    /** Images admitted into inference (preprocessing to result) per version and in all. */
    readonly queuePerVersion: number;
    readonly queueTotal: number;
    readonly ssePerKey: number;
    readonly sseTotal: number;
  };
  readonly http: {
    readonly maxConnections: number;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    /**
     * Express's "trust proxy": whether X-Forwarded-Proto/-Host from these peers say the request's
     * scheme and host (session cookies' Secure flag, the same-origin check). False: the socket's.
     */
    readonly trustProxy: boolean | number | string;
  };
  /**
   * Browser sessions (POST /auth/session): they end after `idleMs` without a request and `maxMs`
   * after sign-in, whichever comes first.
   */
  readonly sessions: { readonly idleMs: number; readonly maxMs: number };
  /** /metrics: on the main port with this bearer token (or an admin key), and/or on its own listener. */
  readonly metrics: {
    readonly token: string | undefined;
    readonly port: number | undefined;
    readonly host: string;
  };
}

export type ArtifactStoreConfig =
  | { readonly kind: 'local' }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      /** '' or ending in '/'. */
      readonly prefix: string;
      readonly endpoint: string | undefined;
      readonly region: string;
      readonly forcePathStyle: boolean;
      readonly timeoutMs: number;
    };

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment once; every bad variable is named in the error. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(env.shape)) {
    const value = source[key];
    // An empty variable means "unset", as in most twelve-factor tools.
    raw[key] = value === undefined || value === '' ? undefined : value;
  }
  const parsed = env.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? '?');
        const got = raw[variable];
        const secret = [
          'ADMIN_API_KEY',
          'DATABASE_URL',
          'MLFLOW_TRACKING_TOKEN',
          'MLFLOW_TRACKING_PASSWORD',
          'METRICS_TOKEN',
        ].includes(variable);
        const shown = secret ? '' : ` (got "${got}")`;
        return { variable, message: `${issue.message}${got === undefined ? '' : shown}` };
      }),
    );
  }
  const e = parsed.data;
  if (e.ARTIFACT_STORE === 's3' && !e.S3_BUCKET)
    throw new ConfigError([{ variable: 'S3_BUCKET', message: 'must be set when ARTIFACT_STORE is s3' }]);
  const demoRepo = e.DEMO_SEED ? path.resolve(e.DEMO_REPO ?? DEFAULT_DEMO_REPO) : null;
  return Object.freeze({
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    databaseTimeouts: Object.freeze({
      queryMs: e.DATABASE_QUERY_TIMEOUT_S * 1000,
      connectMs: e.DATABASE_CONNECT_TIMEOUT_S * 1000,
    }),
    logLevel: e.LOG_LEVEL,
    anonymousRead: e.ANONYMOUS_READ,
    adminApiKey: e.ADMIN_API_KEY,
    pinnedAliases: Object.freeze([...e.PINNED_ALIASES]),
    demoRepo,
    mlflow: Object.freeze({
      allowedHosts: Object.freeze([...e.MLFLOW_ALLOWED_HOSTS]),
      token: e.MLFLOW_TRACKING_TOKEN,
      username: e.MLFLOW_TRACKING_USERNAME,
      password: e.MLFLOW_TRACKING_PASSWORD,
      timeoutMs: e.MLFLOW_TIMEOUT_MS,
    }),
    dvc: Object.freeze({
      allowedRemotes: Object.freeze(e.DVC_ALLOWED_REMOTES.map((r) => r.toLowerCase())),
      remoteMaxBytes: e.DVC_REMOTE_MAX_BYTES,
      remoteTimeoutMs: e.DVC_REMOTE_TIMEOUT_S * 1000,
    }),
    remoteInference: Object.freeze({
      retries: e.REMOTE_RETRIES,
      retryBackoffMs: e.REMOTE_RETRY_BACKOFF_MS,
      breakerMinRequests: e.REMOTE_BREAKER_MIN_REQUESTS,
      breakerWindowMs: e.REMOTE_BREAKER_WINDOW_MS,
      breakerResetMs: e.REMOTE_BREAKER_RESET_MS,
    }),
    inference: Object.freeze({
      memoryBudgetBytes: e.MODEL_MEMORY_BUDGET_MB * 1024 * 1024,
      providers: Object.freeze([...e.EXECUTION_PROVIDERS]),
      cudaDeviceId: e.CUDA_DEVICE_ID,
      workers: e.INFERENCE_WORKERS,
      // Every core for the running model: at INFERENCE_NICE its threads give way to the event loop
      // (BENCHMARKS.md measured one thread fewer: slower, and no better for registry queries).
      intraOpThreads: e.INTRA_OP_THREADS ?? os.availableParallelism(),
      // Inference threads yield the CPU to the gateway's own threads (Linux, where nice is per thread):
      // a registry query or the next request's decoding preempts a running model instead of queueing
      // behind it for a time slice.
      nice: e.INFERENCE_NICE,
      // onnxruntime's default: the pool threads spin for work between (and briefly after) the parallel
      // sections of a run, which is about 1 ms faster per ResNet-50 run here than sleeping; at
      // INFERENCE_NICE they yield to the gateway's thread while they spin (BENCHMARKS.md, run E).
      spinning: e.INFERENCE_SPINNING,
      runTimeoutMs: e.INFERENCE_TIMEOUT_S * 1000,
      speedMeasureMs: e.SPEED_MEASURE_MS,
      maxBatchSize: e.MAX_BATCH_SIZE,
      maxQueueDelayMs: e.MAX_QUEUE_DELAY_MS,
      image: Object.freeze({
        maxBytes: e.MAX_IMAGE_BYTES,
        maxPixels: e.MAX_IMAGE_PIXELS,
        timeoutSeconds: e.IMAGE_DECODE_TIMEOUT_S,
      }),
      // One preprocessing thread per core beside the gateway's own, at least two (one large image must
      // not hold up every other): decoding and resizing never run
      // on the event loop's thread (small PNGs excepted, see preprocess.ts).
      preprocessWorkers: e.PREPROCESS_WORKERS ?? Math.max(2, os.availableParallelism() - 1),
    }),
    comparisons: Object.freeze({
      concurrency: e.COMPARISON_CONCURRENCY,
      leaseMs: e.COMPARISON_LEASE_S * 1000,
      maxActivePerKey: e.COMPARISON_MAX_ACTIVE_PER_KEY,
      calibrationMemoryBytes: Math.round(e.CALIBRATION_MEMORY_MB * 2 ** 20),
    }),
    experiments: Object.freeze({
      retentionMs: e.EXPERIMENT_LOG_RETENTION_DAYS * 86_400_000,
      logFlushMs: e.EXPERIMENT_LOG_FLUSH_MS,
      monitorMs: e.EXPERIMENT_MONITOR_MS,
      shadowConcurrency: e.EXPERIMENT_SHADOW_CONCURRENCY,
    }),
    graphql: Object.freeze({
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxQueryBytes: e.GRAPHQL_MAX_QUERY_BYTES,
      maxCost: e.GRAPHQL_MAX_COST,
    }),
    limits: Object.freeze({
      rate: Object.freeze({ viewer: e.RATE_LIMIT_VIEWER, operator: e.RATE_LIMIT_OPERATOR, admin: e.RATE_LIMIT_ADMIN }),
      authFailuresPerMinute: e.AUTH_FAILURES_PER_MINUTE,
      queuePerVersion: e.INFERENCE_QUEUE_PER_VERSION,
      queueTotal: Math.max(e.INFERENCE_QUEUE_TOTAL, e.INFERENCE_QUEUE_PER_VERSION),
      ssePerKey: e.SSE_MAX_PER_KEY,
      sseTotal: e.SSE_MAX_TOTAL,
    }),
    http: Object.freeze({
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_S * 1000,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_S * 1000,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_S * 1000,
      trustProxy: e.TRUST_PROXY,
    }),
    sessions: Object.freeze({
      idleMs: e.SESSION_IDLE_MINUTES * 60_000,
      maxMs: e.SESSION_MAX_HOURS * 3_600_000,
    }),
    metrics: Object.freeze({ token: e.METRICS_TOKEN, port: e.METRICS_PORT, host: e.METRICS_HOST }),
    artifactStore: Object.freeze(
      e.ARTIFACT_STORE === 's3'
        ? {
            kind: 's3' as const,
            bucket: e.S3_BUCKET!,
            prefix: e.S3_PREFIX.replace(/^\/+/, '').replace(/([^/])$/, '$1/'),
            endpoint: e.S3_ENDPOINT,
            region: e.S3_REGION,
            // Self-hosted servers (MinIO, Ceph) rarely have wildcard DNS for bucket.host names.
            forcePathStyle: e.S3_FORCE_PATH_STYLE ?? e.S3_ENDPOINT !== undefined,
            timeoutMs: e.S3_TIMEOUT_S * 1000,
          }
        : { kind: 'local' as const },
    ),
    // The demo project is always readable: seeding must not depend on IMPORT_ROOTS.
    importRoots: Object.freeze([
      ...new Set([
        ...(e.IMPORT_ROOTS ?? [process.cwd(), DEFAULT_DEMO_REPO]).map((r) => path.resolve(r)),
        ...(demoRepo ? [demoRepo] : []),
      ]),
    ]),
    ...overrides,
  });
}
