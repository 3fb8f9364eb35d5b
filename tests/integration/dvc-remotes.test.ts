import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import YAML from 'yaml';
import type { Config } from '../../src/config/config';
import { writeDvcProject } from '../helpers/dvc-project';
import { createTestApp, dbKind, expectData, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

/**
 * DVC remotes beyond local folders, end to end through importDvc: a static http server in DVC's
 * layout (node:http, in the test), an S3-compatible server (@20minutes/s3rver, in-process), and
 * the refusals (allow-list, unsupported schemes, local remotes outside IMPORT_ROOTS). The project's
 * workspace and cache are empty: every byte comes from the remote.
 */

const IMPORT_DVC =
  `mutation($input: ImportDvcInput!) { importDvc(input: $input) ` +
  `{ created updated unchanged failed items { kind name version action reason } } }`;

const onnx = readFileSync(fixture('gray8x8-3class.onnx'));
const onnxB1 = readFileSync(fixture('gray8x8-3class-batch1.onnx'));
const png = readFileSync(fixture('png-renamed.onnx'));
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const MODEL_META = { registeredModel: 'shapes', labels: GRAY_MODEL.labels, inputSpec: GRAY_MODEL.inputSpec };

const ALL_CREATED = [
  ['model', 'shapes', 'created'],
  ['version', 'shapes <- shapes-v1', 'created'],
  ['alias', 'shapes@baseline', 'updated'],
  ['version', 'shapes <- shapes-v2', 'created'],
  ['alias', 'shapes@champion', 'updated'],
  ['dataset', 'shapes-eval', 'created'],
];

/** Every file below `dir`, as POSIX paths relative to it. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

interface Served {
  url: string;
  host: string;
  requests: { path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/**
 * A static file server for `dir` under `/store/`: 404 for what is missing, 401 when `auth` is given
 * and the request lacks that header value; `redirect` answers every request with a 302 there;
 * `chunked` sends no Content-Length.
 */
async function serveFolder(
  dir: string,
  opts: {
    auth?: { header: string; value: string };
    redirect?: string;
    chunked?: boolean;
    /** Called as each request arrives (to look at the gateway's side meanwhile). */
    onRequest?: () => void;
  } = {},
): Promise<Served> {
  const requests: Served['requests'] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ path: url.pathname, headers: req.headers });
    opts.onRequest?.();
    if (opts.redirect) {
      res.writeHead(302, { location: `${opts.redirect}${url.pathname}` }).end();
      return;
    }
    if (opts.auth && req.headers[opts.auth.header] !== opts.auth.value) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="dvc"' }).end('unauthorized');
      return;
    }
    const rel = decodeURIComponent(url.pathname).replace(/^\/store\//, '');
    const file = path.join(dir, rel);
    if (rel.includes('..') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = readFileSync(file);
    if (opts.chunked) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(body.subarray(0, 10));
      res.end(body.subarray(10));
    } else res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/store`,
    host: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// @20minutes/s3rver ships no types: the little of it used here.
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('@20minutes/s3rver') as new (options: Record<string, unknown>) => S3rverServer;

describe(`DVC remotes (${dbKind()})`, () => {
  let t: TestApp | null = null;
  let dir: string;
  const servers: Served[] = [];

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-remotes-'));
  });
  afterEach(async () => {
    await t?.close();
    t = null;
    while (servers.length) await servers.pop()!.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function app(config: Partial<Config['dvc']> & { importRoots?: readonly string[] }) {
    const { importRoots, ...dvc } = config;
    t = await createTestApp({
      config: {
        dvc: { allowedRemotes: [], remoteMaxBytes: 2 * 1024 ** 3, remoteTimeoutMs: 10_000, ...dvc },
        ...(importRoots ? { importRoots } : {}),
      },
    });
    return t;
  }

  const importDvc = async (root: string) =>
    expectData(await t!.gql(IMPORT_DVC, { input: { repoPath: root } }, t!.keys.admin)).importDvc;

  /** Two models and a dataset (labels file + images), written without workspace copies or cache. */
  function project(opts: { remoteUrl?: string; legacy?: boolean; local?: string } = {}) {
    const root = path.join(dir, 'repo');
    const written = writeDvcProject(root, {
      workspace: false,
      ...(opts.remoteUrl ? { remoteUrl: opts.remoteUrl } : {}),
      ...(opts.legacy ? { legacy: true } : {}),
      models: [
        {
          name: 'shapes-v1',
          path: 'models/a.onnx',
          bytes: onnx,
          meta: { ...MODEL_META, version: 1, aliases: ['baseline'] },
        },
        {
          name: 'shapes-v2',
          path: 'models/b.onnx',
          bytes: onnxB1,
          meta: { ...MODEL_META, version: 2, aliases: ['champion'] },
        },
      ],
      datasets: [
        {
          name: 'shapes-eval',
          path: 'data/eval',
          files: {
            'labels.csv': 'path,label,class\nimg/1.png,0,circle\nimg/2.png,2,triangle\n',
            'img/1.png': png,
            'img/2.png': Buffer.concat([png, Buffer.from([0])]),
          },
          meta: { labelsFile: 'labels.csv', labels: GRAY_MODEL.labels },
        },
      ],
    });
    if (opts.local) writeFileSync(path.join(root, '.dvc', 'config.local'), opts.local);
    expect(existsSync(path.join(root, '.dvc', 'cache'))).toBe(false);
    expect(existsSync(path.join(root, 'models'))).toBe(false);
    return { root, ...written };
  }

  const summary = (report: { items: { kind: string; name: string; action: string }[] }) =>
    report.items.map((i) => [i.kind, i.name, i.action]);

  /** What the import registered: the versions' provenance and the dataset, as a client sees them. */
  async function registered() {
    const { model } = expectData(
      await t!.gql(`{ model(name: "shapes") { versions { version dvc { path md5 remote } } } }`, {}, t!.keys.viewer),
    );
    const { datasets } = expectData(await t!.gql(`{ datasets { name version size } }`, {}, t!.keys.viewer));
    return { versions: model.versions, datasets };
  }

  /** Files currently downloaded into DATA_DIR/tmp. */
  const downloaded = () => {
    const tmp = path.join(t!.dataDir, 'tmp');
    return existsSync(tmp) ? leftovers().reduce((n, d) => n + readdirSync(path.join(tmp, d)).length, 0) : 0;
  };

  /** Downloads left in DATA_DIR/tmp after the import (there must be none). */
  const leftovers = () => {
    const tmp = path.join(t!.dataDir, 'tmp');
    return existsSync(tmp) ? readdirSync(tmp).filter((f) => f.startsWith('dvc-remote-')) : [];
  };

  describe('http remote (a static server in DVC layout, node:http in the test)', () => {
    it('imports models and a .dir dataset (DVC 3 layout) with basic auth from config.local, and removes its downloads', async () => {
      const { root, remote } = project({
        local: `['remote "storage"']\n    auth = basic\n    user = dvc-reader\n    password = s3cret\n`,
      });
      const basic = `Basic ${Buffer.from('dvc-reader:s3cret').toString('base64')}`;
      // Downloads held on the gateway's side as each request arrives: an artifact's are removed when it is done.
      const held: number[] = [];
      const server = await serveFolder(remote, {
        auth: { header: 'authorization', value: basic },
        onRequest: () => held.push(downloaded()),
      });
      servers.push(server);
      writeFileSync(
        path.join(root, '.dvc', 'config'),
        `[core]\n    remote = storage\n['remote "storage"']\n    url = ${server.url}\n`,
      );
      await app({ allowedRemotes: [server.host] });
      const report = await importDvc(root);
      expect(report.failed).toBe(0);
      expect(summary(report)).toEqual(ALL_CREATED);
      const { versions, datasets } = await registered();
      expect(versions).toEqual([
        { version: 1, dvc: { path: 'models/a.onnx', md5: md5(onnx), remote: 'storage' } },
        { version: 2, dvc: { path: 'models/b.onnx', md5: md5(onnxB1), remote: 'storage' } },
      ]);
      expect(datasets).toEqual([{ name: 'shapes-eval', version: 1, size: 2 }]);
      // DVC 3 layout, every request authenticated: 2 models, 1 manifest, 3 files.
      expect(server.requests.map((r) => r.path).every((p) => p.startsWith('/store/files/md5/'))).toBe(true);
      expect(server.requests).toHaveLength(6);
      expect(server.requests.every((r) => r.headers.authorization === basic)).toBe(true);
      expect(leftovers()).toEqual([]);
      // Model 1, model 2 (model 1's download gone), then the manifest and the dataset's files one by one.
      expect(held).toEqual([0, 0, 0, 1, 2, 3]);

      // A wrong password: the server's 401 is the reason, with what was tried before it.
      writeFileSync(
        path.join(root, '.dvc', 'config.local'),
        `['remote "storage"']\n    auth = basic\n    user = dvc-reader\n    password = wrong\n`,
      );
      const refused = await importDvc(root);
      expect(refused.failed).toBe(3);
      expect(refused.items[0].reason).toBe(
        `remote "storage" (${server.url}) refused ${server.url}/files/md5/${md5(onnx).slice(0, 2)}/${md5(onnx).slice(2)} ` +
          "(HTTP 401): check the remote's auth, user/custom_auth_header and password (.dvc/config.local); " +
          'tried workspace: absent; cache: absent',
      );
      expect(leftovers()).toEqual([]);
    });

    it('imports the DVC 2 layout with auth = custom (custom_auth_header + password), and asks for ask_password in config.local', async () => {
      const { root, remote } = project({
        legacy: true,
        local: `['remote "storage"']\n    auth = custom\n    custom_auth_header = X-Dvc-Token\n    password = tok-123\n`,
      });
      const server = await serveFolder(remote, { auth: { header: 'x-dvc-token', value: 'tok-123' } });
      servers.push(server);
      writeFileSync(
        path.join(root, '.dvc', 'config'),
        `[core]\n    remote = storage\n['remote "storage"']\n    url = ${server.url}\n`,
      );
      await app({ allowedRemotes: ['127.0.0.1'] }); // a bare hostname: any port
      const report = await importDvc(root);
      expect(report.failed).toBe(0);
      expect(summary(report)).toEqual(ALL_CREATED);
      // Legacy layout: ab/cdef... at the remote's root, no files/md5/.
      expect(server.requests.map((r) => r.path)).toContain(`/store/${md5(onnx).slice(0, 2)}/${md5(onnx).slice(2)}`);
      expect(server.requests.some((r) => r.path.includes('/files/md5/'))).toBe(false);
      expect(server.requests.every((r) => r.headers['x-dvc-token'] === 'tok-123')).toBe(true);

      // ask_password without a password: DVC would prompt, the gateway cannot.
      writeFileSync(
        path.join(root, '.dvc', 'config.local'),
        `['remote "storage"']\n    auth = basic\n    user = someone\n    ask_password = true\n`,
      );
      const asked = await importDvc(root);
      expect(asked.failed).toBe(3);
      expect(asked.items[0].reason).toBe(
        'remote "storage" sets ask_password, and modelgate cannot prompt for a password: put it in .dvc/config.local ' +
          '(dvc remote modify --local storage password ...); tried workspace: absent; cache: absent',
      );
    });

    it('refuses an object whose md5 is wrong, and one larger than dvc.lock records or than DVC_REMOTE_MAX_BYTES', async () => {
      const { root, remote } = project();
      const server = await serveFolder(remote, { chunked: true });
      servers.push(server);
      writeFileSync(
        path.join(root, '.dvc', 'config'),
        `[core]\n    remote = storage\n['remote "storage"']\n    url = ${server.url}\n`,
      );
      const objA = path.join(remote, 'files', 'md5', md5(onnx).slice(0, 2), md5(onnx).slice(2));
      const flipped = Buffer.from(onnx);
      flipped[100] ^= 0xff;
      writeFileSync(objA, flipped);
      const objB = path.join(remote, 'files', 'md5', md5(onnxB1).slice(0, 2), md5(onnxB1).slice(2));
      writeFileSync(objB, Buffer.concat([onnxB1, Buffer.alloc(64)]));
      await app({ allowedRemotes: [server.host] });
      const report = await importDvc(root);
      const byName = Object.fromEntries(report.items.map((i: any) => [i.name, i]));
      expect(byName['shapes-v1'].reason).toBe(
        `shapes-v1: no verified copy found (workspace: absent; cache: absent; remote:storage: md5 ${md5(flipped)}, ` +
          `expected ${md5(onnx)} (${server.url}/files/md5/${md5(onnx).slice(0, 2)}/${md5(onnx).slice(2)}))`,
      );
      // Sent without Content-Length: cut off while streaming, at the size dvc.lock records.
      expect(byName['shapes-v2'].reason).toBe(
        `remote "storage" (${server.url}): ${server.url}/files/md5/${md5(onnxB1).slice(0, 2)}/${md5(onnxB1).slice(2)} ` +
          `is larger than ${onnxB1.length} bytes, the size DVC recorded for it; tried workspace: absent; cache: absent`,
      );
      expect(byName['shapes-eval'].action).toBe('created');
      // Nothing unverified was registered.
      expect(expectData(await t!.gql(`{ models { name } }`, {}, t!.keys.viewer)).models).toEqual([]);
      expect(leftovers()).toEqual([]);

      // The overall cap applies where no size is recorded (the .dir manifest).
      await t!.close();
      await app({ allowedRemotes: [server.host], remoteMaxBytes: 100 });
      const capped = await importDvc(root);
      const eval2 = capped.items.find((i: any) => i.name === 'shapes-eval');
      expect(eval2.reason).toMatch(
        /^remote "storage" \(.*\): .*\.dir is larger than DVC_REMOTE_MAX_BYTES \(100 bytes\); tried cache: absent$/,
      );
    });

    it('refuses a host not in DVC_ALLOWED_REMOTES, and a redirect to one, without sending the credentials elsewhere', async () => {
      const { root, remote } = project({
        local: `['remote "storage"']\n    auth = basic\n    user = u\n    password = p\n`,
      });
      const target = await serveFolder(remote);
      const front = await serveFolder(remote, { redirect: target.url.replace('/store', '') });
      servers.push(target, front);
      writeFileSync(
        path.join(root, '.dvc', 'config'),
        `[core]\n    remote = storage\n['remote "storage"']\n    url = ${front.url}\n`,
      );
      await app({ allowedRemotes: [target.host] });
      let report = await importDvc(root);
      expect(report.failed).toBe(3);
      expect(report.items[0].reason).toBe(
        `remote "storage" (${front.url}): host ${front.host} is not in DVC_ALLOWED_REMOTES (${target.host}); ` +
          'tried workspace: absent; cache: absent',
      );
      expect(front.requests).toEqual([]);

      await t!.close();
      await app({ allowedRemotes: [front.host] });
      report = await importDvc(root);
      expect(report.items[0].reason).toContain(
        `redirected to ${target.host}, which is not in DVC_ALLOWED_REMOTES (${front.host})`,
      );
      expect(target.requests).toEqual([]);

      // Both allowed: the redirect is followed, the Authorization header stays with the first origin.
      await t!.close();
      await app({ allowedRemotes: [front.host, target.host] });
      report = await importDvc(root);
      expect(report.failed).toBe(0);
      expect(front.requests.every((r) => r.headers.authorization?.startsWith('Basic '))).toBe(true);
      expect(target.requests.length).toBe(6);
      expect(target.requests.some((r) => r.headers.authorization !== undefined)).toBe(false);
    });
  });

  it('fetches a model whose artifact path is a URL (as GTO and dvc.yaml allow), with the auth of the remote it lies under', async () => {
    const root = path.join(dir, 'repo');
    const files = path.join(dir, 'files');
    mkdirSync(path.join(files, 'releases'), { recursive: true });
    writeFileSync(path.join(files, 'releases', 'shapes-1.onnx'), onnx);
    const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
    const server = await serveFolder(files, { auth: { header: 'authorization', value: basic } });
    servers.push(server);
    mkdirSync(path.join(root, '.dvc'), { recursive: true });
    writeFileSync(path.join(root, '.dvc', 'config'), `['remote "releases"']\n    url = ${server.url}\n`);
    writeFileSync(
      path.join(root, '.dvc', 'config.local'),
      `['remote "releases"']\n    auth = basic\n    user = u\n    password = p\n`,
    );
    const artifacts = (url: string) =>
      writeFileSync(
        path.join(root, 'dvc.yaml'),
        YAML.stringify({ artifacts: { 'shapes-url': { path: url, type: 'model', meta: MODEL_META } } }),
      );
    artifacts(`${server.url}/releases/shapes-1.onnx`);
    await app({ allowedRemotes: [] });
    const refused = await importDvc(root);
    expect(refused.items[0]).toMatchObject({
      action: 'failed',
      reason: expect.stringContaining(`host ${server.host} is not in DVC_ALLOWED_REMOTES`),
    });
    expect(server.requests).toEqual([]);
    await t!.close();
    await app({ allowedRemotes: [server.host] });
    const report = await importDvc(root);
    expect(summary(report)).toEqual([
      ['model', 'shapes', 'created'],
      ['version', 'shapes <- shapes-url', 'created'],
    ]);
    const { versions } = await registered();
    expect(versions).toEqual([
      { version: 1, dvc: { path: `${server.url}/releases/shapes-1.onnx`, md5: md5(onnx), remote: 'releases' } },
    ]);
    expect(server.requests.every((r) => r.headers.authorization === basic)).toBe(true);
    expect(summary(await importDvc(root))).toEqual([['version', 'shapes <- shapes-url', 'unchanged']]);
    // Nothing there: NOT_FOUND as the reason.
    artifacts(`${server.url}/releases/missing.onnx`);
    expect((await importDvc(root)).items[0].reason).toBe(
      `${server.url}/releases/missing.onnx does not exist (remote "releases")`,
    );
    expect(leftovers()).toEqual([]);
  });

  describe('S3 remote on s3rver (an S3-compatible server from npm, @20minutes/s3rver, in-process)', () => {
    let s3: S3rverServer;
    let endpoint: string;
    let s3dir: string;

    beforeAll(async () => {
      s3dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-s3rver-'));
      s3 = new S3rver({
        port: 0,
        address: '127.0.0.1',
        silent: true,
        directory: s3dir,
        configureBuckets: [{ name: 'dvc-store' }],
      });
      const { port } = await s3.run();
      endpoint = `http://127.0.0.1:${port}`;
    });
    afterAll(async () => {
      await s3.close();
      rmSync(s3dir, { recursive: true, force: true });
    });

    /** Uploads a folder laid out as a DVC remote under `prefix/` with the SDK, as `dvc push` would. */
    async function upload(folder: string, prefix: string) {
      const client = new S3Client({
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      for (const rel of walk(folder))
        await client.send(
          new PutObjectCommand({
            Bucket: 'dvc-store',
            Key: `${prefix}/${rel}`,
            Body: readFileSync(path.join(folder, rel)),
          }),
        );
      client.destroy();
    }

    it('imports from s3://bucket/prefix through endpointurl with credentials from config.local; refuses bad keys and buckets not allowed', async () => {
      const prefix = `run-${path.basename(dir)}`;
      const { root, remote } = project({
        remoteUrl: `s3://dvc-store/${prefix}`,
        local: `['remote "storage"']\n    access_key_id = S3RVER\n    secret_access_key = S3RVER\n`,
      });
      writeFileSync(
        path.join(root, '.dvc', 'config'),
        `[core]\n    remote = storage\n['remote "storage"']\n    url = s3://dvc-store/${prefix}\n    endpointurl = ${endpoint}\n`,
      );
      await upload(remote, prefix);
      rmSync(remote, { recursive: true, force: true });
      const endpointHost = new URL(endpoint).host;

      // The bucket alone is not enough: the endpoint's host must be allowed too.
      await app({ allowedRemotes: ['s3://dvc-store'] });
      let report = await importDvc(root);
      expect(report.items[0].reason).toBe(
        `remote "storage" (s3://dvc-store/${prefix}): its endpointurl host ${endpointHost} is not in ` +
          'DVC_ALLOWED_REMOTES (s3://dvc-store); tried workspace: absent; cache: absent',
      );
      await t!.close();
      await app({ allowedRemotes: [endpointHost] });
      report = await importDvc(root);
      expect(report.items[0].reason).toBe(
        `remote "storage" (s3://dvc-store/${prefix}): bucket s3://dvc-store is not in DVC_ALLOWED_REMOTES ` +
          `(${endpointHost}); tried workspace: absent; cache: absent`,
      );

      await t!.close();
      await app({ allowedRemotes: ['s3://dvc-store', endpointHost] });
      report = await importDvc(root);
      expect(report.failed).toBe(0);
      expect(summary(report)).toEqual(ALL_CREATED);
      const { versions, datasets } = await registered();
      expect(versions.map((v: any) => v.dvc)).toEqual([
        { path: 'models/a.onnx', md5: md5(onnx), remote: 'storage' },
        { path: 'models/b.onnx', md5: md5(onnxB1), remote: 'storage' },
      ]);
      expect(datasets).toEqual([{ name: 'shapes-eval', version: 1, size: 2 }]);
      expect(leftovers()).toEqual([]);

      // Unknown credentials: S3's refusal is the reason.
      writeFileSync(
        path.join(root, '.dvc', 'config.local'),
        `['remote "storage"']\n    access_key_id = NOBODY\n    secret_access_key = nothing\n`,
      );
      await t!.close();
      await app({ allowedRemotes: ['s3://dvc-store', endpointHost] });
      report = await importDvc(root);
      expect(report.failed).toBe(3);
      expect(report.items[0].reason).toMatch(
        new RegExp(
          `^remote "storage" \\(s3://dvc-store/${prefix}\\) refused s3://dvc-store/${prefix}/files/md5/.* ` +
            '\\(InvalidAccessKeyId, HTTP 403\\): check access_key_id',
        ),
      );
    });
  });

  it('reports a gs:// remote as UNSUPPORTED_REMOTE with its scheme and what was tried', async () => {
    const { root } = project({ remoteUrl: 'gs://bucket/path' });
    await app({ allowedRemotes: ['bucket'] });
    const report = await importDvc(root);
    expect(report.failed).toBe(3);
    const unsupported =
      'UNSUPPORTED_REMOTE: remote "storage" uses gs:// (gs://bucket/path), which modelgate cannot read ' +
      '(it reads local folders, http(s) and s3 remotes); tried ';
    expect(report.items.map((i: any) => [i.name, i.reason])).toEqual([
      ['shapes-v1', `${unsupported}workspace: absent; cache: absent`],
      ['shapes-v2', `${unsupported}workspace: absent; cache: absent`],
      ['shapes-eval', `${unsupported}cache: absent`],
    ]);
  });

  it('refuses a local relative remote outside IMPORT_ROOTS', async () => {
    const { root, remote } = project(); // url = ../../repo-remote, beside the repository
    await app({ importRoots: [root] });
    const report = await importDvc(root);
    expect(report.failed).toBe(3);
    expect(report.items[0].reason).toBe(
      `local remote "storage" (../../repo-remote) at ${remote} is outside the folders the gateway may read ` +
        `(IMPORT_ROOTS: ${root}); tried workspace: absent; cache: absent`,
    );
    // Inside IMPORT_ROOTS, the same remote is read.
    await t!.close();
    await app({ importRoots: [dir] });
    expect((await importDvc(root)).failed).toBe(0);
  });
});
