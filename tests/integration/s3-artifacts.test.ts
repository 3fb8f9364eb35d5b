import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { digestFile, ArtifactStore } from '../../src/artifacts/artifact-store';
import { S3ArtifactStore, type S3StoreOptions } from '../../src/artifacts/s3-store';
import { DomainError } from '../../src/common/errors';
import { withEnv } from '../helpers/cli';
import { startS3rver, S3RVER_CREDENTIALS, type LocalS3 } from '../helpers/s3rver';
import { createTestApp, dbKind, expectData, expectError, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

const BUCKET = 'modelgate-artifacts';
const PREDICT = `query($ref: VersionRefInput!, $image: ImageInput!) {
  predict(ref: $ref, image: $image) { modelVersion { version } top { index } } }`;
const REGISTER_VERSION = `mutation($input: RegisterVersionInput!) { registerVersion(input: $input) { version sha256 } }`;
const IMAGE = { base64: readFileSync(fixture('images/gray-29x31.png')).toString('base64') };

/** A loopback port nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe(`S3 artifact store against s3rver, a local S3-compatible server from npm (${dbKind()})`, () => {
  let s3: LocalS3;
  let t: TestApp;
  let client: S3Client;
  let restoreEnv: () => void;
  let store: S3StoreOptions;

  beforeAll(async () => {
    // The SDK's default credential chain reads them from the environment, as a deployment's would.
    restoreEnv = withEnv(S3RVER_CREDENTIALS);
    s3 = await startS3rver([BUCKET]);
    store = {
      bucket: BUCKET,
      prefix: 'gw/',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      timeoutMs: 5000,
    };
    client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true });
    t = await createTestApp({ config: { artifactStore: { kind: 's3', ...store } } });
    await t.app.services.models.register(t.app.localActor(), GRAY_MODEL);
  });
  afterAll(async () => {
    await t?.close();
    client?.destroy();
    await s3?.close();
    restoreEnv();
  });

  const key = (sha256: string) => `gw/sha256/${sha256.slice(0, 2)}/${sha256}`;
  const head = (sha256: string) => client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key(sha256) }));
  const predict = (version: number) => t.gql(PREDICT, { ref: { model: 'gray', version }, image: IMAGE }, t.keys.viewer);
  const staging = () => readdirSync(path.join(t.dataDir, 'artifacts', 'tmp'));

  it('uploads a registered version under its sha256 with the digest as metadata; the same bytes again are not re-uploaded', async () => {
    const v = expectData(
      await t.gql(
        REGISTER_VERSION,
        { input: { model: 'gray', artifactPath: fixture('gray8x8-3class.onnx') } },
        t.keys.admin,
      ),
    ).registerVersion;
    const stored = await head(v.sha256);
    const digest = await digestFile(fixture('gray8x8-3class.onnx'));
    expect({ size: stored.ContentLength, sha256: stored.Metadata?.sha256 }).toEqual({
      size: Number(digest.sizeBytes),
      sha256: digest.sha256,
    });
    const remote = t.app.artifacts.remote!;
    expect(await remote.put(fixture('gray8x8-3class.onnx'), digest)).toEqual({ uploaded: false });
    // An object at the key that is not these bytes (a half-finished copy by other tools) is replaced.
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(v.sha256), Body: Buffer.from('partial') }));
    expect(await remote.put(fixture('gray8x8-3class.onnx'), digest)).toEqual({ uploaded: true });
    expect((await head(v.sha256)).ContentLength).toBe(Number(digest.sizeBytes));
  });

  it('uploads a file larger than one part in several parts (multipart), and another store downloads it intact', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-s3-big-'));
    try {
      const file = path.join(dir, 'big.bin');
      // Random bytes: 12 MiB is three parts of lib-storage's 5 MiB default.
      writeFileSync(file, randomBytes(12 * 2 ** 20));
      const digest = await digestFile(file);
      const remote = new S3ArtifactStore(store);
      try {
        // The commands the store's client sends, as the SDK names them.
        const sent: string[] = [];
        (remote as unknown as { client: S3Client }).client.middlewareStack.add(
          (next, context) => (args) => {
            sent.push(String(context.commandName));
            return next(args);
          },
          { step: 'initialize' },
        );
        expect(await remote.put(file, digest)).toEqual({ uploaded: true });
        expect(sent).toEqual([
          'HeadObjectCommand',
          'CreateMultipartUploadCommand',
          'UploadPartCommand',
          'UploadPartCommand',
          'UploadPartCommand',
          'CompleteMultipartUploadCommand',
        ]);
        expect(await remote.put(file, digest)).toEqual({ uploaded: false });
        const elsewhere = new ArtifactStore(path.join(dir, 'other'), remote);
        const fetched = await elsewhere.ensure(digest);
        expect(await digestFile(fetched)).toEqual(digest);
      } finally {
        remote.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a gateway that lacks the bytes downloads them before loading, checks their sha256 and keeps them', async () => {
    const row = await t.app.db.prisma.modelVersion.findFirstOrThrow({ where: { version: 1, model: { name: 'gray' } } });
    const file = t.app.artifacts.absolute(row.localPath);
    rmSync(file);
    expect(expectData(await predict(1)).predict.modelVersion.version).toBe(1);
    expect(existsSync(file)).toBe(true);
    expect((await digestFile(file)).sha256).toBe(row.sha256);
    // A local copy of the wrong size (a disk that filled up) is replaced from the bucket.
    truncateSync(file, 10);
    expect(await t.app.artifacts.ensure(row)).toBe(file);
    expect((await digestFile(file)).sha256).toBe(row.sha256);
    expect(staging()).toEqual([]);
  });

  it('refuses bytes in the bucket that do not match the registry: MODEL_LOAD_FAILED, FAILED with the reason, nothing cached', async () => {
    const v = expectData(
      await t.gql(
        REGISTER_VERSION,
        { input: { model: 'gray', artifactPath: fixture('gray8x8-3class-batch1.onnx') } },
        t.keys.admin,
      ),
    ).registerVersion;
    const row = await t.app.db.prisma.modelVersion.findFirstOrThrow({
      where: { version: v.version, model: { name: 'gray' } },
    });
    // Same size, one byte flipped: only the sha256 tells.
    const corrupt = readFileSync(fixture('gray8x8-3class-batch1.onnx'));
    corrupt[corrupt.length - 10] ^= 0xff;
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(v.sha256), Body: corrupt }));
    const file = t.app.artifacts.absolute(row.localPath);
    rmSync(file);

    const err = expectError(await predict(v.version), 'MODEL_LOAD_FAILED');
    expect(err.message).toContain(`its artifact in s3://${BUCKET}/gw/ does not match the registry`);
    const { modelVersion } = expectData(
      await t.gql(
        `query($v: Int!) { modelVersion(ref: { model: "gray", version: $v }) { status statusReason } }`,
        { v: v.version },
        t.keys.viewer,
      ),
    );
    expect(modelVersion.status).toBe('FAILED');
    expect(modelVersion.statusReason).toContain(`registered ${v.sha256}`);
    expect(existsSync(file)).toBe(false);
    expect(staging()).toEqual([]);
  });

  it('an unreachable store: registration fails with UNAVAILABLE and records nothing; a download fails with UNAVAILABLE', async () => {
    const dead = { ...store, endpoint: `http://127.0.0.1:${await closedPort()}`, timeoutMs: 2000 };
    const other = await createTestApp({ config: { artifactStore: { kind: 's3', ...dead } } });
    try {
      await other.app.services.models.register(other.app.localActor(), GRAY_MODEL);
      const err = expectError(
        await other.gql(
          REGISTER_VERSION,
          { input: { model: 'gray', artifactPath: fixture('gray8x8-3class.onnx') } },
          other.keys.admin,
        ),
        'UNAVAILABLE',
      );
      expect(err.message).toMatch(
        new RegExp(`^the artifact store s3://${BUCKET}/gw/ is unavailable: checking gw/sha256/`),
      );
      expect(err.extensions).toMatchObject({ retryAfterMs: 5000 });
      expect(await other.app.db.prisma.modelVersion.count()).toBe(0);

      const remote = new S3ArtifactStore(dead);
      try {
        const fetched = new ArtifactStore(other.dataDir, remote).ensure({ sha256: 'ab'.repeat(32), sizeBytes: 1n });
        await expect(fetched).rejects.toBeInstanceOf(DomainError);
        await expect(fetched).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      } finally {
        remote.close();
      }
    } finally {
      await other.close();
    }
  });
});
