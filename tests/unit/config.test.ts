import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config';

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('configuration from the environment', () => {
  it('has working defaults: port 4000, ./data, embedded database, pinned baseline and champion', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4000,
      dataDir: path.resolve('data'),
      databaseUrl: undefined,
      nodeEnv: 'production',
      anonymousRead: false,
    });
    expect(c.pinnedAliases).toEqual(['baseline', 'champion']);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads the inference settings: budget, providers, workers, batching and image limits', () => {
    const d = loadConfig({}).inference;
    expect(d).toMatchObject({
      memoryBudgetBytes: 4096 * 2 ** 20,
      providers: ['cpu'],
      workers: 1,
      nice: 10,
      spinning: true,
      runTimeoutMs: 60_000,
      maxBatchSize: 32,
      maxQueueDelayMs: 0,
      image: { maxBytes: 20 * 2 ** 20, maxPixels: 50_000_000, timeoutSeconds: 10 },
    });
    expect(d.intraOpThreads).toBeGreaterThan(0);
    const c = loadConfig({
      MODEL_MEMORY_BUDGET_MB: '512',
      EXECUTION_PROVIDERS: 'cuda, cpu',
      INFERENCE_WORKERS: '2',
      INFERENCE_NICE: '0',
      INFERENCE_SPINNING: 'false',
      INFERENCE_TIMEOUT_S: '2.5',
      MAX_BATCH_SIZE: '8',
      MAX_QUEUE_DELAY_MS: '3',
    }).inference;
    expect(c).toMatchObject({
      memoryBudgetBytes: 512 * 2 ** 20,
      providers: ['cuda', 'cpu'],
      workers: 2,
      nice: 0,
      spinning: false,
      runTimeoutMs: 2500,
      maxBatchSize: 8,
      maxQueueDelayMs: 3,
    });
    expect(problems({ EXECUTION_PROVIDERS: 'gpu' })).toContain(
      'EXECUTION_PROVIDERS must list providers among cpu, cuda, tensorrt, webgpu',
    );
    expect(problems({ MAX_BATCH_SIZE: '0' })).toContain('MAX_BATCH_SIZE must be positive');
    expect(problems({ INFERENCE_NICE: '-5' })).toContain('INFERENCE_NICE must be from 0 to 19');
    expect(problems({ INFERENCE_NICE: '20' })).toContain('INFERENCE_NICE must be from 0 to 19');
    expect(problems({ INFERENCE_TIMEOUT_S: '0' })).toContain('INFERENCE_TIMEOUT_S must be positive');
    expect(problems({ MODEL_MEMORY_BUDGET_MB: '1.5' })).toContain(
      'MODEL_MEMORY_BUDGET_MB must be a whole number of megabytes',
    );
  });

  it('reads the browser session limits and which proxies to trust', () => {
    const d = loadConfig({});
    expect(d.sessions).toEqual({ idleMs: 60 * 60_000, maxMs: 12 * 3600_000 });
    expect(d.http.trustProxy).toBe(false);
    const c = loadConfig({ SESSION_IDLE_MINUTES: '15', SESSION_MAX_HOURS: '8' });
    expect(c.sessions).toEqual({ idleMs: 15 * 60_000, maxMs: 8 * 3600_000 });
    expect(problems({ SESSION_IDLE_MINUTES: '0' })).toContain('SESSION_IDLE_MINUTES must be positive');
    expect(problems({ SESSION_MAX_HOURS: '1.5' })).toContain('SESSION_MAX_HOURS must be a whole number of hours');
    const trust = (v: string) => loadConfig({ TRUST_PROXY: v }).http.trustProxy;
    expect([trust('true'), trust('false'), trust('1'), trust('loopback, 10.0.0.0/8')]).toEqual([
      true,
      false,
      1,
      'loopback, 10.0.0.0/8',
    ]);
    expect(problems({ TRUST_PROXY: 'a;b' })).toContain('TRUST_PROXY must be true, false, a number of hops');
  });

  it('names the variable and the bad value in one line', () => {
    const message = problems({ PORT: 'abc' });
    expect(message).toMatch(/^invalid configuration: PORT must be an integer between 0 and 65535 \(got "abc"\)$/);
    expect(message).not.toContain('\n');
  });

  it('lists every bad variable, and never echoes secrets', () => {
    const message = problems({
      PORT: '70000',
      ANONYMOUS_READ: 'maybe',
      DATABASE_URL: 'mysql://u:secret@h/db',
      ADMIN_API_KEY: 'short-secret',
    });
    expect(message).toContain('PORT');
    expect(message).toContain('ANONYMOUS_READ must be true or false');
    expect(message).toContain('DATABASE_URL must be a postgresql:// URL');
    expect(message).toContain('ADMIN_API_KEY must be at least 24 characters');
    expect(message).not.toContain('secret');
  });

  it('parses booleans, lists and URLs; empty means unset', () => {
    const c = loadConfig({
      ANONYMOUS_READ: 'true',
      PINNED_ALIASES: 'prod, baseline',
      DATABASE_URL: 'postgresql://localhost/x',
      PORT: '',
    });
    expect(c.anonymousRead).toBe(true);
    expect(c.pinnedAliases).toEqual(['prod', 'baseline']);
    expect(c.databaseUrl).toBe('postgresql://localhost/x');
    expect(c.port).toBe(4000);
  });
  it('reads the shared artifact store: local by default; s3 needs a bucket, path style follows an endpoint', () => {
    expect(loadConfig({}).artifactStore).toEqual({ kind: 'local' });
    expect(problems({ ARTIFACT_STORE: 's3' })).toBe(
      'invalid configuration: S3_BUCKET must be set when ARTIFACT_STORE is s3',
    );
    expect(problems({ ARTIFACT_STORE: 'gcs' })).toContain('ARTIFACT_STORE must be local or s3');
    expect(problems({ ARTIFACT_STORE: 's3', S3_BUCKET: 'Bad_Bucket' })).toContain(
      'S3_BUCKET must be an S3 bucket name',
    );
    expect(problems({ ARTIFACT_STORE: 's3', S3_BUCKET: 'b1', S3_ENDPOINT: 'ftp://x' })).toContain(
      'S3_ENDPOINT must be an http(s) URL',
    );
    expect(loadConfig({ ARTIFACT_STORE: 's3', S3_BUCKET: 'models', S3_PREFIX: '/team/a' }).artifactStore).toEqual({
      kind: 's3',
      bucket: 'models',
      prefix: 'team/a/',
      endpoint: undefined,
      region: 'us-east-1',
      forcePathStyle: false,
      timeoutMs: 30_000,
    });
    expect(
      loadConfig({
        ARTIFACT_STORE: 's3',
        S3_BUCKET: 'models',
        S3_ENDPOINT: 'http://minio:9000',
        S3_REGION: 'eu-west-3',
      }).artifactStore,
    ).toMatchObject({ prefix: '', endpoint: 'http://minio:9000', region: 'eu-west-3', forcePathStyle: true });
    expect(
      loadConfig({ ARTIFACT_STORE: 's3', S3_BUCKET: 'models', S3_ENDPOINT: 'http://x', S3_FORCE_PATH_STYLE: 'false' })
        .artifactStore,
    ).toMatchObject({ forcePathStyle: false });
  });
});
