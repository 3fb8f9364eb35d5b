import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { artifactStoreUnavailable, type ArtifactRemote, type RemoteObject } from './artifact-remote';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'). */
  prefix: string;
  /** An S3-compatible server (MinIO, Ceph RGW, …); unset: AWS. */
  endpoint: string | undefined;
  region: string;
  /** `endpoint/bucket/key` URLs instead of `bucket.endpoint/key`: what most self-hosted servers want. */
  forcePathStyle: boolean;
  /** How long connecting, and then each request, may take. */
  timeoutMs: number;
}

/** User metadata (x-amz-meta-sha256) that lets an upload be skipped when the same bytes are there. */
const SHA_META = 'sha256';

function statusOf(e: unknown): number | undefined {
  return e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
}

/**
 * Committed artifacts in an S3 bucket under `<prefix>sha256/ab/<sha256>`, the local store's layout.
 * Credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile,
 * web identity, instance metadata…), never from the gateway's own settings.
 */
export class S3ArtifactStore implements ArtifactRemote {
  readonly location: string;
  private readonly client: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    this.location = `s3://${options.bucket}/${options.prefix}`;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      requestHandler: { connectionTimeout: options.timeoutMs, requestTimeout: options.timeoutMs },
      // SDK ≥ 3.729 adds CRC32 checksums to every upload and validates them on download by default;
      // older S3-compatible servers (Ceph before Squid, emulators) reject or lack them. Integrity is
      // checked here anyway: each download's sha256 against the registry's.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  keyOf(sha256: string): string {
    return `${this.options.prefix}sha256/${sha256.slice(0, 2)}/${sha256}`;
  }

  async put(file: string, object: RemoteObject): Promise<{ uploaded: boolean }> {
    const Key = this.keyOf(object.sha256);
    const existing = await this.head(Key);
    if (existing && existing.size === object.sizeBytes && existing.sha256 === object.sha256) return { uploaded: false };
    try {
      // Multipart above 5 MB parts, so large graphs neither sit in memory nor hit the 5 GB PUT limit.
      await new Upload({
        client: this.client,
        params: {
          Bucket: this.options.bucket,
          Key,
          Body: createReadStream(file),
          ContentType: 'application/octet-stream',
          Metadata: { [SHA_META]: object.sha256 },
        },
      }).done();
    } catch (e) {
      throw this.unavailable(`uploading ${Key}`, e);
    }
    return { uploaded: true };
  }

  async get(sha256: string): Promise<Readable | null> {
    const Key = this.keyOf(sha256);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key }));
      if (!(out.Body instanceof Readable)) throw new Error('the response has no body stream');
      return out.Body;
    } catch (e) {
      if (statusOf(e) === 404 && !this.isNoSuchBucket(e)) return null;
      throw this.unavailable(`downloading ${Key}`, e);
    }
  }

  close(): void {
    this.client.destroy();
  }

  private async head(Key: string): Promise<{ size: bigint; sha256: string | undefined } | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key }));
      return { size: BigInt(out.ContentLength ?? -1), sha256: out.Metadata?.[SHA_META] };
    } catch (e) {
      // HEAD has no body: a missing bucket is a bare 404 too, and the upload that follows says so.
      if (statusOf(e) === 404) return null;
      throw this.unavailable(`checking ${Key}`, e);
    }
  }

  private isNoSuchBucket(e: unknown): boolean {
    return e instanceof S3ServiceException && e.name === 'NoSuchBucket';
  }

  private unavailable(what: string, e: unknown) {
    const err = e as Error & { code?: string };
    const status = statusOf(e);
    const why = `${what}: ${err.name}${status ? ` (HTTP ${status})` : err.code ? ` (${err.code})` : ''}: ${err.message}`;
    return artifactStoreUnavailable(this.location, why);
  }
}
