import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DomainError } from '../../src/common/errors';
import { ConfigError, loadConfig } from '../../src/config/config';
import { parseDvcConfig } from '../../src/importers/dvc/config';
import {
  fetchUrlArtifact,
  httpAuth,
  isAllowedBucket,
  isAllowedHost,
  remoteForUrl,
  type RemoteSettings,
} from '../../src/importers/dvc/remotes';

function configProblem(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

/** The DomainError a promise rejects with (code and message). */
async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return { code: (e as DomainError).code, message: (e as DomainError).message };
  }
  throw new Error('resolved');
}

describe('DVC remote settings', () => {
  it('DVC_ALLOWED_REMOTES: hosts, host:port, [ipv6]:port and s3://bucket, lower-cased; empty by default', () => {
    expect(loadConfig({}).dvc).toEqual({ allowedRemotes: [], remoteMaxBytes: 2 * 1024 ** 3, remoteTimeoutMs: 60_000 });
    const c = loadConfig({
      DVC_ALLOWED_REMOTES: ' Data.Example.com , minio.local:9000,[::1]:8080, s3://My-Bucket.v2 ',
      DVC_REMOTE_MAX_BYTES: '1048576',
      DVC_REMOTE_TIMEOUT_S: '5',
    });
    expect(c.dvc).toEqual({
      allowedRemotes: ['data.example.com', 'minio.local:9000', '[::1]:8080', 's3://my-bucket.v2'],
      remoteMaxBytes: 1048576,
      remoteTimeoutMs: 5000,
    });
    expect(Object.isFrozen(c.dvc)).toBe(true);
    expect(Object.isFrozen(c.dvc.allowedRemotes)).toBe(true);
  });

  it.each([
    'https://data.example.com',
    's3://bucket/prefix',
    'gs://bucket',
    'host:port',
    'user@host',
    '*.example.com',
    'host/path',
  ])('refuses the DVC_ALLOWED_REMOTES entry %s, naming the grammar', (entry) => {
    expect(configProblem({ DVC_ALLOWED_REMOTES: `ok.example.com,${entry}` })).toContain(
      'DVC_ALLOWED_REMOTES must list entries of the form host, host:port or s3://bucket',
    );
  });

  it('refuses a cap or timeout that is not a positive whole number', () => {
    expect(configProblem({ DVC_REMOTE_MAX_BYTES: '0' })).toContain('DVC_REMOTE_MAX_BYTES must be positive');
    expect(configProblem({ DVC_REMOTE_TIMEOUT_S: '1.5' })).toContain('DVC_REMOTE_TIMEOUT_S must be a whole number');
    expect(configProblem({ DVC_REMOTE_TIMEOUT_S: '7200' })).toContain('DVC_REMOTE_TIMEOUT_S must be at most 3600');
  });

  it('matches hosts (a bare hostname: any port; host:port: that port, default ports included) and buckets', () => {
    const allowed = ['data.example.com', 'minio.local:9000', 'secure.example.com:443', '[::1]:8080', 's3://models'];
    expect(isAllowedHost(new URL('https://data.example.com/store'), allowed)).toBe(true);
    expect(isAllowedHost(new URL('http://DATA.example.com:8081/store'), allowed)).toBe(true);
    expect(isAllowedHost(new URL('http://minio.local:9000'), allowed)).toBe(true);
    expect(isAllowedHost(new URL('http://minio.local:9001'), allowed)).toBe(false);
    expect(isAllowedHost(new URL('https://secure.example.com/x'), allowed)).toBe(true);
    expect(isAllowedHost(new URL('http://secure.example.com/x'), allowed)).toBe(false);
    expect(isAllowedHost(new URL('http://[::1]:8080/'), allowed)).toBe(true);
    expect(isAllowedHost(new URL('https://evil.data.example.com/'), allowed)).toBe(false);
    // A bucket entry allows no host of that name.
    expect(isAllowedHost(new URL('https://models/'), allowed)).toBe(false);
    expect(isAllowedBucket('models', allowed)).toBe(true);
    expect(isAllowedBucket('models-2', allowed)).toBe(false);
  });

  it("reads the http remote's auth options as DVC names them", () => {
    const remote = (options: Record<string, string>, url = 'https://h/store') => ({ name: 'r', url, options });
    expect(httpAuth(remote({}))).toBeNull();
    expect(httpAuth(remote({ auth: 'basic', user: 'u', password: 'p' }))).toEqual({
      header: 'authorization',
      value: `Basic ${Buffer.from('u:p').toString('base64')}`,
    });
    // The user may come from the URL, as DVC allows.
    expect(httpAuth(remote({ auth: 'basic', password: 'p' }, 'https://alice@h/store'))!.value).toBe(
      `Basic ${Buffer.from('alice:p').toString('base64')}`,
    );
    expect(httpAuth(remote({ auth: 'custom', custom_auth_header: 'X-Token', password: 't' }))).toEqual({
      header: 'x-token',
      value: 't',
    });
    expect(() => httpAuth(remote({ auth: 'basic', ask_password: 'true', user: 'u' }))).toThrow(
      'remote "r" sets ask_password, and modelgate cannot prompt for a password',
    );
    // A password in config.local wins over ask_password.
    expect(httpAuth(remote({ auth: 'basic', ask_password: 'true', user: 'u', password: 'p' }))).not.toBeNull();
    expect(() => httpAuth(remote({ auth: 'custom', password: 't' }))).toThrow('auth = custom needs custom_auth_header');
    expect(() => httpAuth(remote({ auth: 'custom', custom_auth_header: 'X-Token' }))).toThrow(
      'auth = custom needs password',
    );
    expect(() => httpAuth(remote({ auth: 'digest', user: 'u', password: 'p' }))).toThrow(
      'auth = digest is not supported',
    );
    expect(() => httpAuth(remote({ auth: 'basic' }))).toThrow('auth = basic needs user');
  });

  it('finds the remote a URL lies under (longest url, whole path segments)', () => {
    const config = parseDvcConfig(
      `['remote "all"']\n    url = s3://bucket\n['remote "models"']\n    url = s3://bucket/models/\n` +
        `['remote "web"']\n    url = https://user@host.example/store\n['remote "local"']\n    url = ../store\n`,
    );
    expect(remoteForUrl('s3://bucket/models/a/m.onnx', config)).toMatchObject({
      remote: { name: 'models' },
      rel: 'a/m.onnx',
    });
    expect(remoteForUrl('s3://bucket/models-old/m.onnx', config)).toMatchObject({
      remote: { name: 'all' },
      rel: 'models-old/m.onnx',
    });
    expect(remoteForUrl('https://host.example/store/x.onnx', config)).toMatchObject({
      remote: { name: 'web' },
      rel: 'x.onnx',
    });
    expect(remoteForUrl('https://host.example/storage/x.onnx', config)).toBeNull();
    expect(remoteForUrl('s3://other/m.onnx', config)).toBeNull();
  });
});

describe('fetchUrlArtifact (one artifact given as a URL)', () => {
  let dir: string;
  let server: http.Server;
  let base: string;
  let host: string;
  const seen: { path: string; auth: string | undefined }[] = [];
  const body = Buffer.from('an ONNX file, as far as this test cares\n'.repeat(20));

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization });
      if (
        req.url?.startsWith('/private/') &&
        req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`
      ) {
        res.writeHead(401).end();
        return;
      }
      if (req.url === '/private/models/m.onnx' || req.url === '/public/m.onnx')
        res.writeHead(200, { 'content-length': body.length }).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    base = `http://${host}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-urlartifact-'));
    seen.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const settings = (over: Partial<RemoteSettings> = {}): RemoteSettings => ({
    allowedRemotes: [host],
    maxBytes: 1024 * 1024,
    timeoutMs: 5000,
    downloadDir: path.join(dir, 'tmp'),
    importRoots: [dir],
    ...over,
  });

  const privateRemote = () =>
    parseDvcConfig(
      `['remote "private"']\n    url = ${base}/private\n`,
      `['remote "private"']\n    auth = basic\n    user = u\n    password = p\n`,
    );

  it("downloads a URL under a configured remote with that remote's auth, and cleanup removes the download", async () => {
    const got = await fetchUrlArtifact(`${base}/private/models/m.onnx`, privateRemote(), settings(), {
      maxBytes: body.length,
    });
    expect(got.remote).toBe('private');
    expect(got.shown).toBe(`${base}/private/models/m.onnx`);
    expect(readFileSync(got.file).equals(body)).toBe(true);
    expect(path.dirname(path.dirname(got.file))).toBe(path.join(dir, 'tmp'));
    expect(seen).toEqual([{ path: '/private/models/m.onnx', auth: `Basic ${Buffer.from('u:p').toString('base64')}` }]);
    await got.cleanup();
    expect(existsSync(got.file)).toBe(false);
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('downloads a URL under no remote anonymously; 401 and 404 are clear errors, and nothing is left behind', async () => {
    const got = await fetchUrlArtifact(`${base}/public/m.onnx`, parseDvcConfig(''), settings());
    expect(got.remote).toBeNull();
    expect(seen[0]!.auth).toBeUndefined();
    await got.cleanup();

    const denied = await refusal(fetchUrlArtifact(`${base}/private/models/m.onnx`, parseDvcConfig(''), settings()));
    expect(denied.message).toContain(`refused ${base}/private/models/m.onnx (HTTP 401)`);
    const missing = await refusal(fetchUrlArtifact(`${base}/private/models/none.onnx`, privateRemote(), settings()));
    expect(missing).toEqual({
      code: 'NOT_FOUND',
      message: `${base}/private/models/none.onnx does not exist (remote "private")`,
    });
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('applies DVC_ALLOWED_REMOTES and the size caps', async () => {
    const notAllowed = await refusal(
      fetchUrlArtifact(`${base}/public/m.onnx`, parseDvcConfig(''), settings({ allowedRemotes: ['example.com'] })),
    );
    expect(notAllowed.message).toBe(
      `artifact ${base}/public/m.onnx: host ${host} is not in DVC_ALLOWED_REMOTES (example.com)`,
    );
    const tooBig = await refusal(
      fetchUrlArtifact(`${base}/public/m.onnx`, parseDvcConfig(''), settings({ maxBytes: body.length - 1 })),
    );
    expect(tooBig).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringContaining(`is larger than DVC_REMOTE_MAX_BYTES (${body.length - 1} bytes)`),
    });
    const recorded = await refusal(
      fetchUrlArtifact(`${base}/public/m.onnx`, parseDvcConfig(''), settings(), { maxBytes: 10 }),
    );
    expect(recorded.message).toContain('is larger than 10 bytes, the size DVC recorded');
    expect(seen.length).toBe(2); // the refused host was never asked
  });

  it('refuses unsupported schemes with UNSUPPORTED_REMOTE, and file:// URLs outside IMPORT_ROOTS', async () => {
    for (const url of ['gs://bucket/m.onnx', 'azure://container/m.onnx', 'ssh://host/m.onnx', 'webdav://h/m.onnx']) {
      const scheme = url.split(':')[0];
      expect((await refusal(fetchUrlArtifact(url, parseDvcConfig(''), settings()))).message).toBe(
        `UNSUPPORTED_REMOTE: artifact ${url} uses ${scheme}:// (${url}), which modelgate cannot read ` +
          '(it reads local folders, http(s) and s3 remotes)',
      );
    }
    const inside = path.join(dir, 'm.onnx');
    writeFileSync(inside, body);
    const local = await fetchUrlArtifact(pathToFileURL(inside).href, parseDvcConfig(''), settings());
    expect(local.file).toBe(inside);
    await local.cleanup();
    expect(existsSync(inside)).toBe(true); // not a download: left alone
    const outsideDir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-outside-'));
    try {
      mkdirSync(outsideDir, { recursive: true });
      writeFileSync(path.join(outsideDir, 'm.onnx'), body);
      const outside = await refusal(
        fetchUrlArtifact(pathToFileURL(path.join(outsideDir, 'm.onnx')).href, parseDvcConfig(''), settings()),
      );
      expect(outside.message).toContain('is outside the folders the gateway may read (IMPORT_ROOTS');
    } finally {
      rmSync(outsideDir, { recursive: true, force: true });
    }
  });
});
