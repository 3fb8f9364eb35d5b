import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { fromIni } from '@aws-sdk/credential-providers';
import { allowedPath, isInside } from '../../artifacts/import-roots';
import { badInput, DomainError, notFound, payloadTooLarge, timedOut } from '../../common/errors';
import type { DvcConfig, DvcRemoteConfig } from './config';

/**
 * DVC remotes other than the workspace and cache: local folders (under IMPORT_ROOTS), static
 * http(s) servers in DVC's layout and S3 (or S3-compatible) buckets, each allowed by
 * DVC_ALLOWED_REMOTES. Downloads are streamed to temporary files, size-capped; the caller verifies
 * the bytes (md5) and removes the files when done.
 */

/** What an import may reach and how long it waits (Config.dvc, IMPORT_ROOTS, DATA_DIR/tmp). */
export interface RemoteAccess {
  /** DVC_ALLOWED_REMOTES: `host`, `host:port`, `s3://bucket` (lower case). */
  allowedRemotes: readonly string[];
  /** DVC_REMOTE_MAX_BYTES: no download may be larger. */
  maxBytes: number;
  /** DVC_REMOTE_TIMEOUT_S in ms: connect and read (idle) timeouts unless the remote sets its own. */
  timeoutMs: number;
  /** Downloads are staged below it (created if needed) and removed after use. */
  downloadDir: string;
}

export interface RemoteSettings extends RemoteAccess {
  /** IMPORT_ROOTS: local remotes must lie below one of them; null: not checked (trusted projects, tools). */
  importRoots: readonly string[] | null;
}

export const DEFAULT_REMOTE_SETTINGS: RemoteSettings = Object.freeze({
  allowedRemotes: [],
  maxBytes: 2 * 1024 ** 3,
  timeoutMs: 60_000,
  downloadDir: os.tmpdir(),
  importRoots: null,
});

/** A local file holding fetched bytes; `cleanup` removes it when it is a download. */
export interface Fetched {
  file: string;
  /** Where the bytes came from, for messages (no credentials). */
  shown: string;
  cleanup(): Promise<void>;
}

export interface RemoteStore {
  readonly name: string;
  readonly url: string;
  /**
   * The bytes at `rel` (a relative POSIX path below the remote's url; '' for the url itself) in a
   * local file, or null when the remote has nothing there. `maxBytes` (when known) caps the
   * download besides DVC_REMOTE_MAX_BYTES. Anything else (not allowed, unsupported, refused,
   * unreachable, too large) throws a DomainError naming the remote.
   */
  fetch(rel: string, opts?: { maxBytes?: number | null; capReason?: string }): Promise<Fetched | null>;
  /** Closes its connections (kept alive between the objects of one import). */
  close?(): Promise<void>;
}

/** A remote URL for messages: credentials (user:token@) removed. */
export function shownUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

export function schemeOf(url: string): string | null {
  return SCHEME.exec(url)?.[1]?.toLowerCase() ?? null;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/i;
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

// ---------------------------------------------------------------------------------------------
// The allow-list.

/** Whether `host[:port]` of a URL is allowed: an entry `hostname` allows every port, `hostname:port` one. */
export function isAllowedHost(url: URL, allowed: readonly string[]): boolean {
  const hostname = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  return allowed.some((entry) => {
    if (entry.startsWith('s3://')) return false;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry)!;
    return m[1] === hostname && (m[2] === undefined || m[2] === port);
  });
}

export function isAllowedBucket(bucket: string, allowed: readonly string[]): boolean {
  return allowed.includes(`s3://${bucket.toLowerCase()}`);
}

/** How messages name a store: the remote, or (name '') the artifact URL fetched on its own. */
const storeLabel = (name: string, url: string) =>
  name ? `remote "${name}" (${shownUrl(url)})` : `artifact ${shownUrl(url)}`;

const allowList = (allowed: readonly string[]) => (allowed.length ? allowed.join(', ') : 'empty');

// ---------------------------------------------------------------------------------------------
// Remote options as DVC names them (values in .dvc/config are strings).

function boolOption(remote: DvcRemoteConfig, key: string): boolean | null {
  const v = remote.options[key];
  if (v === undefined || v === '') return null;
  if (/^(true|yes|on|1)$/i.test(v)) return true;
  if (/^(false|no|off|0)$/i.test(v)) return false;
  throw badInput(`remote "${remote.name}": ${key} = ${v} is not true or false`);
}

function secondsOption(remote: DvcRemoteConfig, key: string, fallbackMs: number): number {
  const v = remote.options[key];
  if (v === undefined || v === '') return fallbackMs;
  const s = Number(v);
  if (!Number.isFinite(s) || s <= 0)
    throw badInput(`remote "${remote.name}": ${key} = ${v} is not a positive number of seconds`);
  return Math.round(s * 1000);
}

/** `ssl_verify`: true (default), false, or a CA bundle file (which must lie under IMPORT_ROOTS). */
async function tlsOptions(
  remote: DvcRemoteConfig,
  dvcDir: string,
  importRoots: readonly string[] | null,
): Promise<{ rejectUnauthorized: boolean; ca?: Buffer }> {
  const v = remote.options.ssl_verify;
  if (v === undefined || v === '' || /^(true|yes|on|1|false|no|off|0)$/i.test(v))
    return { rejectUnauthorized: boolOption(remote, 'ssl_verify') ?? true };
  const file = path.resolve(dvcDir, v);
  if (importRoots) await allowedPath(importRoots, file, `remote "${remote.name}": ssl_verify`);
  try {
    return { rejectUnauthorized: true, ca: await readFile(file) };
  } catch (e) {
    throw badInput(
      `remote "${remote.name}": cannot read the CA bundle ssl_verify names (${file}): ${(e as Error).message}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Temporary files.

/** Temporary download files of one import (or one URL artifact): one folder, removed by dispose(). */
export class Downloads {
  private dir: Promise<string> | null = null;
  private n = 0;

  constructor(private readonly parent: string) {}

  async newFile(hint: string): Promise<string> {
    this.dir ??= mkdir(this.parent, { recursive: true }).then(() => mkdtemp(path.join(this.parent, 'dvc-remote-')));
    const dir = await this.dir;
    return path.join(dir, `${this.n++}-${hint.replace(/[^A-Za-z0-9._-]/g, '_').slice(-80)}`);
  }

  async dispose(): Promise<void> {
    const dir = this.dir;
    this.dir = null;
    if (dir) await rm(await dir.catch(() => ''), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Copies `body` into `file`, refusing more than `max` bytes (the caller guards stalls). */
async function streamToFile(body: Readable, file: string, max: number, tooLarge: () => DomainError): Promise<void> {
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      if (total > max) done(tooLarge());
      else done(null, chunk);
    },
  });
  try {
    await pipeline(body, counter, createWriteStream(file, { mode: 0o600 }));
  } catch (e) {
    await rm(file, { force: true });
    throw e;
  }
}

function capOf(settings: RemoteAccess, opts?: { maxBytes?: number | null; capReason?: string }) {
  const own = opts?.maxBytes;
  if (own != null && own < settings.maxBytes)
    return { max: own, reason: opts?.capReason ?? `${own} bytes, the size DVC recorded` };
  return { max: settings.maxBytes, reason: `DVC_REMOTE_MAX_BYTES (${settings.maxBytes} bytes)` };
}

// ---------------------------------------------------------------------------------------------
// Local folders.

export class LocalRemoteStore implements RemoteStore {
  private checked: Promise<string> | null = null;

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly dir: string,
    private readonly importRoots: readonly string[] | null,
  ) {}

  /** The folder, once checked against IMPORT_ROOTS (symlinks resolved). */
  private root(): Promise<string> {
    this.checked ??= (async () => {
      if (!this.importRoots) return this.dir;
      await allowedPath(this.importRoots, this.dir, `local remote "${this.name}" (${this.url}) at`);
      return realpath(this.dir).catch(() => this.dir);
    })();
    return this.checked;
  }

  async fetch(rel: string): Promise<Fetched | null> {
    const root = await this.root();
    const file = path.join(this.dir, rel);
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return null;
    // An object that is a symlink out of the remote is not read.
    const real = await realpath(file).catch(() => file);
    if (this.importRoots && !isInside(root, real))
      throw badInput(`local remote "${this.name}": ${file} links outside the remote (${root})`);
    return { file, shown: file, cleanup: async () => undefined };
  }
}

// ---------------------------------------------------------------------------------------------
// http(s): a static file server in DVC's layout.

interface HttpAuth {
  header: string;
  value: string;
}

/** The header DVC's `auth` option asks for (basic: user/password; custom: custom_auth_header: password). */
export function httpAuth(remote: DvcRemoteConfig): HttpAuth | null {
  const o = remote.options;
  const auth = o.auth?.toLowerCase();
  if (!auth) return null;
  const fromUrl = (() => {
    try {
      return decodeURIComponent(new URL(remote.url).username) || undefined;
    } catch {
      return undefined;
    }
  })();
  const password = o.password;
  if (password === undefined && boolOption(remote, 'ask_password')) {
    throw badInput(
      `remote "${remote.name}" sets ask_password, and modelgate cannot prompt for a password: ` +
        `put it in .dvc/config.local (dvc remote modify --local ${remote.name} password ...)`,
    );
  }
  if (auth === 'basic') {
    const user = o.user ?? fromUrl;
    if (user === undefined) throw badInput(`remote "${remote.name}": auth = basic needs user (and password)`);
    return { header: 'authorization', value: `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}` };
  }
  if (auth === 'custom') {
    const header = o.custom_auth_header;
    if (!header || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header))
      throw badInput(`remote "${remote.name}": auth = custom needs custom_auth_header, an HTTP header name`);
    if (password === undefined)
      throw badInput(`remote "${remote.name}": auth = custom needs password (the header's value)`);
    return { header: header.toLowerCase(), value: password };
  }
  if (auth === 'digest')
    throw badInput(`remote "${remote.name}": auth = digest is not supported (DVC removed it in 2.7.1)`);
  throw badInput(`remote "${remote.name}": unknown auth = ${o.auth} (DVC knows basic and custom)`);
}

export class HttpRemoteStore implements RemoteStore {
  private readonly base: URL;
  private prepared: Promise<{ agent: http.Agent; auth: HttpAuth | null; connectMs: number; readMs: number }> | null =
    null;

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly remote: DvcRemoteConfig,
    private readonly dvcDir: string,
    private readonly settings: RemoteSettings,
    private readonly downloads: Downloads,
  ) {
    this.base = new URL(url);
    this.base.username = '';
    this.base.password = '';
  }

  private label() {
    return storeLabel(this.name, this.url);
  }

  private prepare() {
    this.prepared ??= (async () => {
      if (!isAllowedHost(this.base, this.settings.allowedRemotes)) {
        throw badInput(
          `${this.label()}: host ${this.base.host} is not in DVC_ALLOWED_REMOTES (${allowList(this.settings.allowedRemotes)})`,
        );
      }
      const auth = httpAuth(this.remote);
      // Refused rather than sent in the clear (or sent without: that would hide the misconfiguration).
      if (auth && this.base.protocol === 'http:' && !LOOPBACK.test(this.base.hostname)) {
        throw badInput(
          `${this.label()}: refusing to send its credentials over plain http to ${this.base.host}: use https, or a loopback address`,
        );
      }
      const tls = await tlsOptions(this.remote, this.dvcDir, this.settings.importRoots);
      const agent =
        this.base.protocol === 'https:'
          ? new https.Agent({ keepAlive: true, maxSockets: 4, ...tls })
          : new http.Agent({ keepAlive: true, maxSockets: 4 });
      return {
        agent,
        auth,
        connectMs: secondsOption(this.remote, 'connect_timeout', this.settings.timeoutMs),
        readMs: secondsOption(this.remote, 'read_timeout', this.settings.timeoutMs),
      };
    })();
    return this.prepared;
  }

  async close(): Promise<void> {
    const prepared = this.prepared;
    this.prepared = null;
    (await prepared?.catch(() => null))?.agent.destroy();
  }

  /** The remote's URL with `rel` appended to its path (its query string kept, as DVC does). */
  target(rel: string): URL {
    const u = new URL(this.base.href);
    if (rel) u.pathname = u.pathname.replace(/\/?$/, '/') + rel.split('/').map(encodeURIComponent).join('/');
    return u;
  }

  async fetch(rel: string, opts?: { maxBytes?: number | null; capReason?: string }): Promise<Fetched | null> {
    const { agent, auth, connectMs, readMs } = await this.prepare();
    const cap = capOf(this.settings, opts);
    let url = this.target(rel);
    let headers: Record<string, string> = auth ? { [auth.header]: auth.value } : {};
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      const shown = `${url.origin}${url.pathname}`;
      const res = await this.request(url, headers, url.origin === origin ? agent : undefined, connectMs, readMs, shown);
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        res.resume();
        if (hop >= MAX_REDIRECTS)
          throw badInput(`${this.label()}: ${shown} redirected more than ${MAX_REDIRECTS} times`);
        let next: URL | null;
        try {
          next = new URL(res.headers.location ?? '', url);
        } catch {
          next = null;
        }
        if (!res.headers.location || !next || (next.protocol !== 'http:' && next.protocol !== 'https:'))
          throw badInput(`${this.label()}: ${shown} redirected to an invalid location`);
        if (!isAllowedHost(next, this.settings.allowedRemotes)) {
          throw badInput(
            `${this.label()}: ${shown} redirected to ${next.host}, which is not in DVC_ALLOWED_REMOTES (${allowList(this.settings.allowedRemotes)})`,
          );
        }
        // Credentials stay with the remote's origin.
        if (next.origin !== origin) headers = {};
        url = next;
        continue;
      }
      if (status === 404 || status === 410) {
        res.resume();
        return null;
      }
      if (status === 401 || status === 403) {
        res.resume();
        throw badInput(
          `${this.label()} refused ${shown} (HTTP ${status}): ${auth ? 'check' : 'set'} the remote's auth, user/custom_auth_header and password (.dvc/config.local)`,
        );
      }
      if (status < 200 || status >= 300) {
        res.resume();
        throw badInput(`${this.label()} answered HTTP ${status} for ${shown}`);
      }
      const tooLarge = () => payloadTooLarge(`${this.label()}: ${shown} is larger than ${cap.reason}`);
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > cap.max) {
        res.destroy();
        throw tooLarge();
      }
      const file = await this.downloads.newFile(rel || path.posix.basename(url.pathname));
      try {
        await streamToFile(res, file, cap.max, tooLarge);
      } catch (e) {
        if (e instanceof DomainError) throw e;
        if ((e as { code?: string }).code === 'ETIMEDOUT')
          throw timedOut(`${this.label()} sent nothing of ${shown} for ${readMs} ms (read_timeout)`);
        throw badInput(`${this.label()} broke off ${shown}: ${(e as Error).message}`);
      }
      return { file, shown, cleanup: () => rm(file, { force: true }) };
    }
  }

  /** One GET, resolved with the response's headers: within connectMs to connect, readMs between data. */
  private request(
    url: URL,
    headers: Record<string, string>,
    agent: http.Agent | undefined,
    connectMs: number,
    readMs: number,
    shown: string,
  ): Promise<http.IncomingMessage> {
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, {
        method: 'GET',
        headers: { accept: '*/*', 'accept-encoding': 'identity', ...headers },
        ...(agent ? { agent } : {}),
      });
      let connectTimer: NodeJS.Timeout | null = setTimeout(() => {
        req.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECT_TIMEOUT' }));
      }, connectMs);
      const connected = () => {
        if (connectTimer) clearTimeout(connectTimer);
        connectTimer = null;
      };
      req.on('socket', (socket) => {
        if (!socket.connecting) connected();
        else socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
      });
      req.setTimeout(readMs, () => req.destroy(Object.assign(new Error('read timeout'), { code: 'ETIMEDOUT' })));
      req.on('response', (res) => {
        connected();
        // The idle timeout keeps guarding the body: the socket's 'timeout' destroys the response too.
        res.socket?.setTimeout(readMs, () =>
          res.destroy(Object.assign(new Error('read timeout'), { code: 'ETIMEDOUT' })),
        );
        resolve(res);
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        connected();
        if (e.code === 'ECONNECT_TIMEOUT')
          reject(
            timedOut(`${this.label()}: could not connect to ${url.host} within ${connectMs} ms (connect_timeout)`),
          );
        else if (e.code === 'ETIMEDOUT')
          reject(timedOut(`${this.label()} did not answer ${shown} within ${readMs} ms (read_timeout)`));
        else reject(badInput(`${this.label()}: cannot reach ${shown}: ${e.message}`));
      });
      req.end();
    });
  }
}

// ---------------------------------------------------------------------------------------------
// S3 (AWS, or an S3-compatible store through endpointurl).

export class S3RemoteStore implements RemoteStore {
  private readonly bucket: string;
  private readonly prefix: string;
  private client: Promise<S3Client> | null = null;

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly remote: DvcRemoteConfig,
    private readonly dvcDir: string,
    private readonly settings: RemoteSettings,
    private readonly downloads: Downloads,
  ) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
    if (!m || !m[1]) throw badInput(`${storeLabel(name, url)} is not an s3://bucket/path URL`);
    this.bucket = m[1];
    this.prefix = m[2]!.replace(/\/+$/, '');
  }

  private label() {
    return storeLabel(this.name, this.url);
  }

  private endpoint(): URL | null {
    const e = this.remote.options.endpointurl;
    if (!e) return null;
    try {
      const u = new URL(SCHEME.test(e) ? e : `https://${e}`);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      return u;
    } catch {
      throw badInput(`${this.label()}: endpointurl = ${e} is not an http(s) URL`);
    }
  }

  private s3(): Promise<S3Client> {
    this.client ??= (async () => {
      const allowed = this.settings.allowedRemotes;
      if (!isAllowedBucket(this.bucket, allowed)) {
        throw badInput(
          `${this.label()}: bucket s3://${this.bucket} is not in DVC_ALLOWED_REMOTES (${allowList(allowed)})`,
        );
      }
      const endpoint = this.endpoint();
      if (endpoint && !isAllowedHost(endpoint, allowed)) {
        throw badInput(
          `${this.label()}: its endpointurl host ${endpoint.host} is not in DVC_ALLOWED_REMOTES (${allowList(allowed)})`,
        );
      }
      const o = this.remote.options;
      if (o.access_key_id !== undefined && o.secret_access_key === undefined)
        throw badInput(`${this.label()}: access_key_id is set without secret_access_key`);
      const credentials =
        o.access_key_id !== undefined
          ? {
              accessKeyId: o.access_key_id,
              secretAccessKey: o.secret_access_key!,
              ...(o.session_token ? { sessionToken: o.session_token } : {}),
            }
          : o.profile
            ? fromIni({
                profile: o.profile,
                ...(o.credentialpath ? { filepath: o.credentialpath } : {}),
                ...(o.configpath ? { configFilepath: o.configpath } : {}),
              })
            : undefined; // the SDK's default chain: environment, shared files, SSO, container/instance roles
      const tls = await tlsOptions(this.remote, this.dvcDir, this.settings.importRoots);
      return new S3Client({
        region: o.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
        ...(endpoint ? { endpoint: endpoint.href, forcePathStyle: true } : { followRegionRedirects: true }),
        ...(credentials ? { credentials } : {}),
        // md5 is verified by the caller; S3-compatible stores do not all send CRC checksums.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 3,
        requestHandler: {
          connectionTimeout: secondsOption(this.remote, 'connect_timeout', this.settings.timeoutMs),
          socketTimeout: secondsOption(this.remote, 'read_timeout', this.settings.timeoutMs),
          httpsAgent: { keepAlive: true, ...tls },
        },
      });
    })();
    return this.client;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    (await client?.catch(() => null))?.destroy();
  }

  key(rel: string): string {
    return [this.prefix, rel].filter(Boolean).join('/');
  }

  async fetch(rel: string, opts?: { maxBytes?: number | null; capReason?: string }): Promise<Fetched | null> {
    const client = await this.s3();
    const key = this.key(rel);
    const shown = `s3://${this.bucket}/${key}`;
    const cap = capOf(this.settings, opts);
    const tooLarge = () => payloadTooLarge(`${this.label()}: ${shown} is larger than ${cap.reason}`);
    let body: Readable;
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (res.ContentLength != null && res.ContentLength > cap.max) {
        (res.Body as Readable | undefined)?.destroy();
        throw tooLarge();
      }
      body = res.Body as Readable;
    } catch (e) {
      if (e instanceof DomainError) throw e;
      const err = e as Error & { $metadata?: { httpStatusCode?: number } };
      if (err.name === 'NoSuchKey' || (err.name !== 'NoSuchBucket' && err.$metadata?.httpStatusCode === 404))
        return null;
      throw this.failure(err, shown);
    }
    if (!body) return null;
    const file = await this.downloads.newFile(rel || path.posix.basename(key));
    try {
      await streamToFile(body, file, cap.max, tooLarge);
    } catch (e) {
      if (e instanceof DomainError) throw e;
      throw badInput(`${this.label()} broke off ${shown}: ${(e as Error).message}`);
    }
    return { file, shown, cleanup: () => rm(file, { force: true }) };
  }

  private failure(err: Error & { $metadata?: { httpStatusCode?: number } }, shown: string): DomainError {
    const status = err.$metadata?.httpStatusCode;
    if (err.name === 'NoSuchBucket') return notFound(`${this.label()}: bucket ${this.bucket} does not exist`);
    if (err.name === 'CredentialsProviderError') {
      return badInput(
        `${this.label()}: no AWS credentials found: set access_key_id/secret_access_key in .dvc/config.local, ` +
          `a profile, or the standard AWS environment (${err.message})`,
      );
    }
    if (status === 401 || status === 403 || err.name === 'InvalidAccessKeyId' || err.name === 'SignatureDoesNotMatch') {
      return badInput(
        `${this.label()} refused ${shown} (${err.name}${status ? `, HTTP ${status}` : ''}): ` +
          `check access_key_id/secret_access_key/session_token or profile (.dvc/config.local)`,
      );
    }
    if (err.name === 'TimeoutError' || /timeout|timed out/i.test(err.message))
      return timedOut(`${this.label()} did not answer ${shown} in time: ${err.message}`);
    if (err instanceof S3ServiceException)
      return badInput(`${this.label()}: S3 error on ${shown}: ${err.name}: ${err.message}`);
    return badInput(`${this.label()}: cannot reach S3 for ${shown}: ${err.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Unsupported schemes, and choosing a store.

class UnsupportedRemoteStore implements RemoteStore {
  constructor(
    readonly name: string,
    readonly url: string,
    private readonly scheme: string,
  ) {}

  fetch(): Promise<Fetched | null> {
    return Promise.reject(unsupported(`remote "${this.name}"`, this.scheme, this.url));
  }
}

const unsupported = (who: string, scheme: string, url: string) =>
  badInput(
    `UNSUPPORTED_REMOTE: ${who} uses ${scheme}:// (${shownUrl(url)}), which modelgate cannot read ` +
      '(it reads local folders, http(s) and s3 remotes)',
  );

/** A remote from .dvc/config: a local folder (relative paths are relative to .dvc/), http(s), s3, or unsupported. */
export function remoteStore(
  remote: DvcRemoteConfig,
  dvcDir: string,
  settings: RemoteSettings = DEFAULT_REMOTE_SETTINGS,
  downloads: Downloads = new Downloads(settings.downloadDir),
): RemoteStore {
  const scheme = schemeOf(remote.url);
  try {
    if (scheme === 'http' || scheme === 'https')
      return new HttpRemoteStore(remote.name, remote.url, remote, dvcDir, settings, downloads);
    if (scheme === 's3') return new S3RemoteStore(remote.name, remote.url, remote, dvcDir, settings, downloads);
  } catch (e) {
    // A malformed url fails the objects that need this remote, not the whole import.
    const error = e instanceof DomainError ? e : badInput(`${storeLabel(remote.name, remote.url)} is not a valid URL`);
    return { name: remote.name, url: remote.url, fetch: () => Promise.reject(error) };
  }
  if (scheme && scheme !== 'file') return new UnsupportedRemoteStore(remote.name, remote.url, scheme);
  const local = scheme === 'file' ? new URL(remote.url).pathname : remote.url;
  return new LocalRemoteStore(remote.name, remote.url, path.resolve(dvcDir, local), settings.importRoots);
}

// ---------------------------------------------------------------------------------------------
// One URL written directly as an artifact path.

/** The remote whose url the URL lies under (same scheme, host and a path-segment prefix), if any. */
export function remoteForUrl(url: string, config: DvcConfig): { remote: DvcRemoteConfig; rel: string } | null {
  const strip = (u: string) =>
    shownUrl(u)
      .replace(/[?#].*$/, '')
      .replace(/\/+$/, '');
  const target = strip(url);
  let best: { remote: DvcRemoteConfig; rel: string } | null = null;
  for (const remote of config.remotes.values()) {
    const base = strip(remote.url);
    if (!SCHEME.test(base)) continue;
    if (
      target.toLowerCase().startsWith(base.toLowerCase() + '/') &&
      (!best || base.length > strip(best.remote.url).length)
    )
      best = { remote, rel: target.slice(base.length + 1) };
  }
  return best;
}

/**
 * Downloads one artifact given as a URL (`s3://bucket/models/model.onnx`, `https://host/x.onnx`)
 * into a temporary file, under the same rules as remote objects: DVC_ALLOWED_REMOTES, the
 * DVC_REMOTE_MAX_BYTES cap (and `maxBytes` when the size is known), and the auth options of the
 * configured remote whose url the URL lies under (none otherwise: anonymous http, the default AWS
 * chain for s3). A `file://` URL must lie under IMPORT_ROOTS. `cleanup` removes the download.
 * Throws UNSUPPORTED_REMOTE for other schemes, NOT_FOUND when nothing is there.
 */
export async function fetchUrlArtifact(
  url: string,
  config: DvcConfig,
  settings: RemoteSettings,
  opts: { dvcDir?: string; maxBytes?: number | null } = {},
): Promise<Fetched & { remote: string | null }> {
  const scheme = schemeOf(url);
  if (!scheme) throw badInput(`${url} is not a URL (s3://, http(s)://, file://)`);
  const dvcDir = opts.dvcDir ?? process.cwd();
  if (scheme === 'file') {
    const file = new URL(url).pathname;
    if (settings.importRoots) await allowedPath(settings.importRoots, file, 'artifact');
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) throw notFound(`${url} does not exist or is not a file`);
    if (info.size > capOf(settings, opts).max)
      throw payloadTooLarge(`${url} is larger than ${capOf(settings, opts).reason}`);
    return { file, shown: file, cleanup: async () => undefined, remote: null };
  }
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 's3') throw unsupported(`artifact ${url}`, scheme, url);
  const under = remoteForUrl(url, config);
  const downloads = new Downloads(settings.downloadDir);
  const store = under
    ? remoteStore(under.remote, dvcDir, settings, downloads)
    : remoteStore({ name: '', url, options: {} }, dvcDir, settings, downloads);
  try {
    const got = await store.fetch(under ? under.rel : '', { maxBytes: opts.maxBytes ?? null });
    if (!got) throw notFound(`${shownUrl(url)} does not exist${under ? ` (remote "${under.remote.name}")` : ''}`);
    return { ...got, cleanup: () => downloads.dispose(), remote: under?.remote.name ?? null };
  } catch (e) {
    await downloads.dispose();
    throw e;
  } finally {
    await store.close?.();
  }
}
