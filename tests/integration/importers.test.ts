import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MAX_WALK_DEPTH } from '../../src/importers/mlflow/file-store';
import { UNEXPECTED_FAILURE } from '../../src/importers/report';
import { writeDvcProject } from '../helpers/dvc-project';
import { gitIn } from '../helpers/git';
import { writeMlflowStore } from '../helpers/mlflow-store';
import {
  createTestApp,
  dbKind,
  expectData,
  expectError,
  FIXTURES,
  fixture,
  GRAY_MODEL,
  type TestApp,
} from '../helpers/test-app';

const IMPORT_DVC =
  `mutation($input: ImportDvcInput!) { importDvc(input: $input) ` +
  `{ created updated unchanged failed items { kind name version action reason } } }`;
const IMPORT_MLFLOW =
  `mutation($input: ImportMlflowInput!) { importMlflow(input: $input) ` +
  `{ created updated unchanged failed items { kind name version action reason } } }`;

const onnx = readFileSync(fixture('gray8x8-3class.onnx'));
const onnxB1 = readFileSync(fixture('gray8x8-3class-batch1.onnx'));
const png = readFileSync(fixture('png-renamed.onnx')); // a real 8x8 PNG
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const MODEL_META = { registeredModel: 'shapes', labels: GRAY_MODEL.labels, inputSpec: GRAY_MODEL.inputSpec };

describe(`importers (${dbKind()})`, () => {
  let t: TestApp;
  let dir: string;
  const op = (query: string, input: Record<string, unknown>, key?: string) =>
    t.gql(query, { input }, key ?? t.keys.admin);

  beforeEach(async () => {
    t = await createTestApp();
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-import-'));
  });
  afterEach(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function project(opts: Partial<Parameters<typeof writeDvcProject>[1]> = {}) {
    const root = path.join(dir, 'repo');
    const written = writeDvcProject(root, {
      workspace: false,
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
        { name: 'shapes-folders', path: 'data/folders', files: { 'square/a.png': png, 'circle/b.png': png } },
      ],
      ...opts,
    });
    return { root, ...written };
  }

  it('imports DVC models (bytes from the local remote, md5-verified) and datasets, with provenance and aliases', async () => {
    const { root } = project();
    const report = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(report.failed).toBe(0);
    expect(report.items.map((i: any) => [i.kind, i.name, i.version, i.action])).toEqual([
      ['model', 'shapes', null, 'created'],
      ['version', 'shapes <- shapes-v1', 1, 'created'],
      ['alias', 'shapes@baseline', 1, 'updated'],
      ['version', 'shapes <- shapes-v2', 2, 'created'],
      ['alias', 'shapes@champion', 2, 'updated'],
      ['dataset', 'shapes-eval', 1, 'created'],
      ['dataset', 'shapes-folders', 1, 'created'],
    ]);
    const { model } = expectData(
      await t.gql(
        `{ model(name: "shapes") { labels versions { version sha256 aliases artifactUri tags dvc { repo rev path md5 remote } } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(model.versions[0]).toMatchObject({
      version: 1,
      sha256: sha(onnx),
      aliases: ['baseline'],
      tags: { 'dvc.artifact': 'shapes-v1' },
      dvc: { repo: root, rev: null, path: 'models/a.onnx', md5: md5(onnx), remote: 'storage' },
    });
    expect(model.versions[0].artifactUri).toMatch(/^dvc\+file:\/\/.*\/models\/a\.onnx\?rev=workspace&md5=/);
    const { datasets } = expectData(await t.gql(`{ datasets { name version labels size } }`, {}, t.keys.viewer));
    expect(datasets).toEqual([
      { name: 'shapes-eval', version: 1, labels: GRAY_MODEL.labels, size: 2 },
      { name: 'shapes-folders', version: 1, labels: ['circle', 'square'], size: 2 },
    ]);
    // Item files are stored content-addressed: evaluations read them by sha256.
    const stored = readFileSync(path.join(t.dataDir, 'artifacts', 'sha256', sha(png).slice(0, 2), sha(png)));
    expect(stored.equals(png)).toBe(true);

    // A dry run, then importing again: nothing to do.
    const dry = expectData(await op(IMPORT_DVC, { repoPath: root, dryRun: true })).importDvc;
    expect(dry.items.map((i: any) => [i.kind, i.action])).toEqual(dry.items.map((i: any) => [i.kind, 'unchanged']));
    const again = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect([again.created, again.failed]).toEqual([0, 0]);
    expect(again.items.map((i: any) => i.action)).toEqual(again.items.map(() => 'unchanged'));
  });

  it('reads standalone .dvc files: a typed out is an artifact, an untyped one is reported as skipped', async () => {
    const { root, remote } = project();
    const put = (bytes: Buffer | string, suffix = '') => {
      const hash = md5(Buffer.from(bytes));
      const file = path.join(remote, 'files', 'md5', hash.slice(0, 2), hash.slice(2) + suffix);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, bytes);
      return hash;
    };
    // `dvc add data/extra` then annotated with type: dataset (paths relative to the .dvc file's folder).
    const files = [
      ['circle/x.png', png],
      ['square/y.png', Buffer.concat([png, Buffer.from([1])])],
    ] as const;
    const manifest =
      '[' + files.map(([rel, bytes]) => `{"md5": "${put(bytes)}", "relpath": "${rel}"}`).join(', ') + ']';
    mkdirSync(path.join(root, 'data'), { recursive: true });
    writeFileSync(
      path.join(root, 'data', 'extra.dvc'),
      `outs:\n- md5: ${put(manifest, '.dir')}.dir\n  size: ${png.length * 2 + 1}\n  nfiles: 2\n` +
        `  hash: md5\n  path: extra\n  type: dataset\n  desc: extra shapes\n`,
    );
    writeFileSync(
      path.join(root, 'data', 'raw.csv.dvc'),
      `outs:\n- md5: ${put('a,b\n')}\n  size: 4\n  hash: md5\n  path: raw.csv\n`,
    );
    const report = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(report.items.filter((i: any) => i.action === 'failed')).toEqual([]);
    expect(report.items).toContainEqual({
      kind: 'dataset',
      name: 'extra',
      version: 1,
      action: 'created',
      reason: '2 items',
    });
    expect(report.items).toContainEqual(
      expect.objectContaining({
        kind: 'artifact',
        name: 'data/raw.csv',
        action: 'skipped',
        reason: expect.stringContaining('tracked by data/raw.csv.dvc'),
      }),
    );
    const { datasets } = expectData(await t.gql(`{ datasets { name labels size } }`, {}, t.keys.viewer));
    expect(datasets).toContainEqual({ name: 'extra', labels: ['circle', 'square'], size: 2 });
  });

  it('prefers a workspace copy whose md5 matches, and skips one that does not', async () => {
    const { root, remote } = project({ workspace: true });
    // Corrupt the remote copy of v1: the intact workspace copy is used.
    const obj = path.join(remote, 'files', 'md5', md5(onnx).slice(0, 2), md5(onnx).slice(2));
    writeFileSync(obj, Buffer.from('corrupt'));
    const first = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(first.failed).toBe(0);
    const { modelVersion } = expectData(
      await t.gql(`{ modelVersion(ref: { model: "shapes", version: 1 }) { dvc { remote } } }`, {}, t.keys.viewer),
    );
    expect(modelVersion.dvc.remote).toBeNull();
  });

  it('refuses bytes that do not match their md5, naming the file and both hashes, and registers nothing', async () => {
    const { root, remote } = project();
    const obj = path.join(remote, 'files', 'md5', md5(onnx).slice(0, 2), md5(onnx).slice(2));
    chmodSync(obj, 0o644);
    const flipped = Buffer.from(onnx);
    flipped[100] ^= 0xff;
    writeFileSync(obj, flipped);
    const report = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    const failed = report.items.find((i: any) => i.action === 'failed');
    expect(failed.name).toBe('shapes-v1');
    expect(failed.reason).toContain(`remote:storage: md5 ${md5(flipped)}, expected ${md5(onnx)} (${obj})`);
    const { model } = expectData(
      await t.gql(`{ model(name: "shapes") { versions { version dvc { path } } } }`, {}, t.keys.viewer),
    );
    expect(model.versions.map((v: any) => v.dvc.path)).toEqual(['models/b.onnx']);
  });

  it('names an unsupported remote instead of fetching from it', async () => {
    const { root } = project({ remoteUrl: 'gs://bucket/dvcstore' });
    const report = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(report.failed).toBe(4);
    expect(report.items[0].reason).toBe(
      'UNSUPPORTED_REMOTE: remote "storage" uses gs:// (gs://bucket/dvcstore), which modelgate cannot read ' +
        '(it reads local folders, http(s) and s3 remotes); tried workspace: absent; cache: absent',
    );
  });

  it('reports a model artifact without a model entry, and a dry run writes nothing', async () => {
    const root = path.join(dir, 'bare');
    writeDvcProject(root, { models: [{ name: 'orphan', path: 'm.onnx', bytes: onnx }] });
    const report = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(report.items[0]).toMatchObject({
      action: 'failed',
      reason: expect.stringContaining('give the artifact meta.labels and meta.inputSpec'),
    });
    const { root: full } = project();
    const dry = expectData(await op(IMPORT_DVC, { repoPath: full, dryRun: true })).importDvc;
    expect(dry.created).toBeGreaterThan(0);
    expect(expectData(await t.gql(`{ models { name } datasets { name } }`, {}, t.keys.viewer))).toEqual({
      models: [],
      datasets: [],
    });
  });

  it('needs operator, and admin for pinned aliases', async () => {
    const { root } = project();
    expectError(await op(IMPORT_DVC, { repoPath: root }, t.keys.viewer), 'FORBIDDEN');
    const report = expectData(await op(IMPORT_DVC, { repoPath: root }, t.keys.operator)).importDvc;
    expect(report.items.filter((i: any) => i.kind === 'alias').map((i: any) => i.action)).toEqual(['failed', 'failed']);
    expectError(await op(IMPORT_DVC, { repoPath: path.join(dir, 'nothing-here') }), 'BAD_USER_INPUT');
    expect(expectError(await op(IMPORT_DVC, { repoPath: '/etc' }), 'BAD_USER_INPUT').message).toContain('IMPORT_ROOTS');
  });

  it('refuses artifact paths and manifest entries that escape the repository, and outside symlinks', async () => {
    const root = path.join(dir, 'escape');
    writeDvcProject(root, { models: [{ name: 'up', path: '../outside.onnx', bytes: onnx, meta: MODEL_META }] });
    const report = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(report.items[0]).toMatchObject({
      action: 'failed',
      reason: 'artifact path "../outside.onnx" must be a relative path inside the repository',
    });

    const { root: linked, remote } = project({ workspace: true });
    // The workspace copy of v1 is a symlink to a file outside the project, and the remote lacks it.
    const outside = path.join(dir, 'outside.onnx');
    writeFileSync(outside, onnx);
    rmSync(path.join(linked, 'models', 'a.onnx'));
    symlinkSync(outside, path.join(linked, 'models', 'a.onnx'));
    rmSync(path.join(remote, 'files', 'md5', md5(onnx).slice(0, 2), md5(onnx).slice(2)), { force: true });
    const linkedReport = expectData(await op(IMPORT_DVC, { repoPath: linked })).importDvc;
    expect(linkedReport.items.find((i: any) => i.name === 'shapes-v1').reason).toContain('links outside the project');
  });

  it('keeps an alias an operator moved, and follows one the source moved', async () => {
    const { root } = project();
    expectData(await op(IMPORT_DVC, { repoPath: root }));
    // An operator serves v1 instead: a re-import of the unchanged project leaves that alone.
    expectData(
      await t.gql(`mutation { setAlias(model: "shapes", alias: "champion", version: 1) { name } }`, {}, t.keys.admin),
    );
    const kept = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(kept.items.find((i: any) => i.name === 'shapes@champion')).toMatchObject({
      action: 'unchanged',
      version: 1,
      reason: expect.stringContaining('moved here since the last import'),
    });
    // Upstream now puts "candidate" on v2: that one is applied.
    const dvcYaml = path.join(root, 'dvc.yaml');
    writeFileSync(dvcYaml, readFileSync(dvcYaml, 'utf8').replace('- champion', '- champion\n        - candidate'));
    const moved = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(moved.items.find((i: any) => i.name === 'shapes@candidate')).toMatchObject({
      action: 'updated',
      version: 2,
    });
    const { model } = expectData(
      await t.gql(
        `{ model(name: "shapes") { aliases { name version { version } } aliasHistory(alias: "champion") { toVersion actor } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(model.aliases.map((a: any) => [a.name, a.version.version])).toEqual([
      ['baseline', 1],
      ['candidate', 2],
      ['champion', 1],
    ]);
  });

  it('refuses malformed files naming file and line, bad md5s, escaping manifest entries and missing objects', async () => {
    const { root, remote } = project();
    const lock = path.join(root, 'dvc.lock');
    const lockText = readFileSync(lock, 'utf8');
    writeFileSync(path.join(root, 'dvc.yaml'), 'artifacts:\n  x: [unclosed\n');
    expect(expectError(await op(IMPORT_DVC, { repoPath: root }), 'BAD_USER_INPUT').message).toMatch(
      /dvc\.yaml is not valid YAML: .*line \d+/,
    );
    project();
    writeFileSync(lock, lockText.replace(md5(onnx), '../../../../etc/passwd'));
    const bad = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(bad.items.find((i: any) => i.name === 'shapes-v1').reason).toContain(
      '"../../../../etc/passwd" is not an md5',
    );
    // A manifest listing "../escape": refused before anything is read through it.
    const escapeRoot = path.join(dir, 'escape-dir');
    const written = writeDvcProject(escapeRoot, {
      workspace: false,
      datasets: [{ name: 'd', path: 'd', files: { 'a/x.png': png } }],
    });
    const manifestLock = readFileSync(path.join(escapeRoot, 'dvc.lock'), 'utf8');
    const dirMd5 = /md5: ([0-9a-f]{32})\.dir/.exec(manifestLock)![1]!;
    const evil = `[{"md5": "${md5(png)}", "relpath": "../x.png"}]`;
    const evilMd5 = md5(Buffer.from(evil));
    const evilFile = path.join(written.remote, 'files', 'md5', evilMd5.slice(0, 2), evilMd5.slice(2) + '.dir');
    mkdirSync(path.dirname(evilFile), { recursive: true });
    writeFileSync(evilFile, evil);
    writeFileSync(path.join(escapeRoot, 'dvc.lock'), manifestLock.replace(dirMd5, evilMd5));
    const escaped = expectData(await op(IMPORT_DVC, { repoPath: escapeRoot })).importDvc;
    expect(escaped.items[0]).toMatchObject({
      action: 'failed',
      reason: expect.stringContaining('unsafe, duplicate or malformed entry'),
    });
    // A remote object that is simply missing.
    writeFileSync(lock, lockText);
    rmSync(path.join(remote, 'files', 'md5', md5(onnxB1).slice(0, 2), md5(onnxB1).slice(2)), { force: true });
    const missing = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(missing.items.find((i: any) => i.name === 'shapes-v2').reason).toBe(
      'shapes-v2: no verified copy found (workspace: absent; cache: absent; remote:storage: absent)',
    );
  });

  it('reads DVC 2 projects: legacy cache layout, md5-dos2unix hashing', async () => {
    const root = path.join(dir, 'dvc2');
    writeDvcProject(root, {
      legacy: true,
      workspace: false,
      models: [{ name: 'old', path: 'm.onnx', bytes: onnx, meta: MODEL_META }],
    });
    const report = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(report.items.map((i: any) => [i.kind, i.action])).toEqual([
      ['model', 'created'],
      ['version', 'created'],
    ]);
  });

  it('imports a git revision without touching the working tree, with GTO tags as aliases', async () => {
    const { root } = project();
    const git = gitIn(root);
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'v1');
    const first = git('rev-parse', 'HEAD');
    git('tag', '-a', 'shapes-v1@v1.0.0', '-m', 'Registering artifact shapes-v1 version v1.0.0');
    git('tag', '-a', 'shapes-v1#staging#1', '-m', 'Assigning stage staging');
    // prod was assigned, then unassigned; dev moved on to a later commit: neither is v1's.
    git('tag', '-a', 'shapes-v1#prod#2', '-m', 'Assigning stage prod');
    git('tag', '-a', 'shapes-v1#prod!#3', '-m', 'Unassigning stage prod');
    git('tag', '-a', 'shapes-v1#dev#4', '-m', 'Assigning stage dev');
    git('commit', '-q', '--allow-empty', '-m', 'later');
    git('tag', '-a', 'shapes-v1#dev#5', '-m', 'Assigning stage dev');
    // The working tree moves on: dvc.yaml loses every artifact.
    writeFileSync(path.join(root, 'dvc.yaml'), 'stages: {}\n');
    // Its dvc.lock outputs are now reported as skipped, nothing is imported.
    const now = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(now.items.map((i: any) => [i.name, i.action])).toEqual([
      ['models/a.onnx', 'skipped'],
      ['models/b.onnx', 'skipped'],
      ['data/eval', 'skipped'],
      ['data/folders', 'skipped'],
    ]);
    const report = expectData(await op(IMPORT_DVC, { repoPath: root, rev: first })).importDvc;
    expect(report.failed).toBe(0);
    expect(report.items).toContainEqual(expect.objectContaining({ kind: 'alias', name: 'shapes@staging', version: 1 }));
    const { modelVersion } = expectData(
      await t.gql(
        `{ modelVersion(ref: { model: "shapes", alias: "staging" }) { version aliases tags dvc { rev } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(modelVersion).toMatchObject({
      version: 1,
      aliases: ['baseline', 'staging'],
      tags: { 'gto.version': 'v1.0.0' },
      dvc: { rev: first },
    });
    expect(readFileSync(path.join(root, 'dvc.yaml'), 'utf8')).toBe('stages: {}\n');
    expectError(await op(IMPORT_DVC, { repoPath: root, rev: 'no-such-rev' }), 'BAD_USER_INPUT');
  });

  it("runs git with a scrubbed environment, the repository's own commands (fsmonitor, pager, filters) off, and refuses a revision like an option", async () => {
    const { root } = project();
    const git = gitIn(root);
    writeFileSync(path.join(root, '.gitattributes'), '* filter=evil\n');
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'v1');
    // Commands a hostile repository configures: each leaves its marker file if git runs it.
    const marker = (name: string) => path.join(dir, `ran-${name}`);
    git('config', 'core.fsmonitor', `touch ${marker('fsmonitor')}; echo`);
    git('config', 'core.pager', `touch ${marker('pager')}; cat`);
    git('config', 'filter.evil.clean', `touch ${marker('clean')}; cat`);
    git('config', 'filter.evil.smudge', `touch ${marker('smudge')}; cat`);
    git('config', 'filter.evil.required', 'true');
    // A new mtime makes `git status` hash the file again, through its clean filter.
    utimesSync(path.join(root, 'dvc.yaml'), new Date(2020, 0, 1), new Date(2020, 0, 1));
    // Every git the importer starts goes through this wrapper, which records its arguments and environment.
    const bin = path.join(dir, 'bin');
    const calls = path.join(dir, 'git-calls.log');
    mkdirSync(bin);
    const realGit = execFileSync('sh', ['-c', 'command -v git']).toString().trim();
    writeFileSync(
      path.join(bin, 'git'),
      `#!/bin/sh\n{ printf 'ARGS'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\\n'; env; } >> ${calls}\nexec ${realGit} "$@"\n`,
      { mode: 0o755 },
    );
    const secrets = {
      ADMIN_API_KEY: 'gateway-admin-key',
      DATABASE_URL: 'postgresql://gateway-db-secret@db/x',
      MLFLOW_TRACKING_TOKEN: 'gateway-mlflow-token',
    };
    const saved = {
      PATH: process.env.PATH,
      ...Object.fromEntries(Object.keys(secrets).map((k) => [k, process.env[k]])),
    };
    Object.assign(process.env, secrets, { PATH: `${bin}:${process.env.PATH}` });
    const escaped = path.join(dir, 'x');
    try {
      const workspace = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
      const atRev = expectData(await op(IMPORT_DVC, { repoPath: root, rev: 'HEAD' })).importDvc;
      expect([workspace.failed, atRev.failed]).toEqual([0, 0]);
      expect(
        expectError(await op(IMPORT_DVC, { repoPath: root, rev: `--output=${escaped}` }), 'BAD_USER_INPUT').message,
      ).toBe(`revision "--output=${escaped}" must not start with "-"`);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(existsSync(escaped)).toBe(false);
    expect(['fsmonitor', 'pager', 'clean', 'smudge'].filter((m) => existsSync(marker(m)))).toEqual([]);
    const log = readFileSync(calls, 'utf8');
    const invocations = log.split('\n').filter((l) => l.startsWith('ARGS'));
    expect(invocations.map((a) => /^ARGS \[--no-pager\]( \[-c\] \[[^\]]*\]){6} \[([^\]]+)\]/.exec(a)?.[2])).toEqual(
      expect.arrayContaining(['rev-parse', 'ls-files', 'config', 'status', 'for-each-ref', 'show', 'ls-tree']),
    );
    for (const args of invocations) {
      expect(args).toContain(
        'ARGS [--no-pager] [-c] [core.fsmonitor=false] [-c] [core.hooksPath=/dev/null] [-c] [core.sshCommand=] ' +
          '[-c] [diff.external=] [-c] [core.pager=cat] [-c] [protocol.allow=never] ',
      );
    }
    expect(invocations.find((a) => a.includes(' [show] '))).toContain(' [show] [--no-textconv] [--end-of-options] ');
    expect(invocations.find((a) => a.includes('^{commit}]'))).toContain(' [--end-of-options] [HEAD^{commit}]');
    expect(log).not.toContain('--output');
    for (const line of [
      'GIT_CONFIG_NOSYSTEM=1',
      'GIT_CONFIG_GLOBAL=/dev/null',
      'GIT_TERMINAL_PROMPT=0',
      'GIT_OPTIONAL_LOCKS=0',
      'HOME=/dev/null',
      'LC_ALL=C',
    ])
      expect(log).toContain(`\n${line}\n`);
    for (const value of Object.values(secrets)) expect(log).not.toContain(value);
    expect(log).not.toMatch(/^(ADMIN_API_KEY|DATABASE_URL|MLFLOW_TRACKING_TOKEN)=/m);
  });

  it('reports .dvc outs, a linked .dvc file and labels-file entries leading outside the project as skipped, reading none of them', async () => {
    const root = path.join(dir, 'repo');
    writeDvcProject(root, {
      workspace: false,
      datasets: [
        {
          name: 'listed',
          path: 'data/listed',
          files: { 'labels.csv': 'path,label\nimg/1.png,0\n../x.png,1\n/etc/passwd,1\n', 'img/1.png': png },
          meta: { labelsFile: 'labels.csv', labels: GRAY_MODEL.labels },
        },
      ],
    });
    // Typed outs: each would be imported as a model if its path were followed.
    const out = (p: string) =>
      `  - md5: ${md5(onnx)}\n    size: ${onnx.length}\n    hash: md5\n    path: ${p}\n    type: model\n    meta: { registeredModel: shapes }\n`;
    mkdirSync(path.join(root, 'data'), { recursive: true });
    writeFileSync(path.join(root, 'data', 'escape.dvc'), `outs:\n${out('../../etc/passwd')}${out('/etc/passwd')}`);
    writeFileSync(path.join(root, 'wdir.dvc'), `wdir: ../..\nouts:\n${out('secret.onnx')}`);
    writeFileSync(path.join(dir, 'outside.dvc'), `outs:\n${out('models/outside.onnx')}`);
    symlinkSync(path.join(dir, 'outside.dvc'), path.join(root, 'linked.dvc'));
    const report = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(report.items.map((i: any) => [i.kind, i.name, i.action, i.reason])).toEqual([
      ['artifact', 'listed: ../x.png', 'skipped', 'listed in labels.csv: the path leads outside the dataset: not read'],
      [
        'artifact',
        'listed: /etc/passwd',
        'skipped',
        'listed in labels.csv: the path leads outside the dataset: not read',
      ],
      ['dataset', 'listed', 'created', '1 items'],
      [
        'artifact',
        '../../etc/passwd',
        'skipped',
        'data/escape.dvc gives it a path leading outside the project: not read',
      ],
      [
        'artifact',
        '/etc/passwd',
        'skipped',
        'data/escape.dvc gives it an absolute path (an output outside the project): not read',
      ],
      ['artifact', 'linked.dvc', 'skipped', 'linked.dvc links outside the project: not read'],
      ['artifact', 'secret.onnx', 'skipped', 'wdir.dvc gives it a path leading outside the project: not read'],
    ]);
    expect(expectData(await t.gql(`{ models { name } datasets { name size } }`, {}, t.keys.viewer))).toEqual({
      models: [],
      datasets: [{ name: 'listed', size: 1 }],
    });
  });

  it('refuses a labels file whose class index would allocate unbounded memory, as BAD_USER_INPUT', async () => {
    const root = path.join(dir, 'huge');
    writeDvcProject(root, {
      workspace: false,
      datasets: [
        {
          name: 'huge',
          path: 'd',
          files: { 'labels.csv': 'path,label\na.png,1000000000', 'a.png': png },
          meta: { labelsFile: 'labels.csv' },
        },
      ],
    });
    const report = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(report.items).toEqual([
      {
        kind: 'dataset',
        name: 'huge',
        version: null,
        action: 'failed',
        reason: 'a.png: class index 1000000000 is beyond MAX_CLASSES (100000)',
      },
    ]);
  });

  it('reports an unexpected error as a code only, and logs it in full with the artifact it concerns', async () => {
    const { root } = project();
    const logged = jest.spyOn(t.app.services.dvcImporter['deps'].logger, 'error');
    const internal = new Error('relation "secret_table" does not exist (postgres://admin:pw@db)');
    jest.spyOn(t.app.services.models, 'find').mockRejectedValueOnce(internal);
    const report = expectData(await op(IMPORT_DVC, { repoPath: root })).importDvc;
    expect(report.items[0]).toEqual({
      kind: 'version',
      name: 'shapes-v1',
      version: null,
      action: 'failed',
      reason: UNEXPECTED_FAILURE,
    });
    expect(UNEXPECTED_FAILURE).toBe('INTERNAL_SERVER_ERROR: unexpected error (see the gateway log)');
    expect(JSON.stringify(report)).not.toContain('secret_table');
    expect(logged).toHaveBeenCalledWith(
      expect.objectContaining({
        err: internal,
        importer: 'dvc',
        repo: root,
        item: { kind: 'version', name: 'shapes-v1' },
      }),
      expect.any(String),
    );
    // Domain errors keep their message: they are written for users.
    expect(report.items.find((i: any) => i.name === 'shapes <- shapes-v2')).toMatchObject({ action: 'created' });
  });

  it('imports MLflow runs with full metric histories and links them to the versions holding their bytes', async () => {
    const { root } = project();
    expectData(await op(IMPORT_DVC, { repoPath: root }));
    const store = path.join(dir, 'mlruns');
    writeMlflowStore(store, {
      experimentId: '123456789012345678',
      experiment: 'shapes',
      runs: [
        {
          runId: 'a'.repeat(32),
          name: 'train-a',
          params: { lr: '0.1', epochs: '3' },
          metrics: [
            ['loss', 0.9, 1700000001000, 1],
            ['loss', 0.5, 1700000002000, 2],
            ['loss', 0.7, 1700000003000, 2],
            ['acc', 'nan', 1700000003000, 0],
          ],
          tags: { 'mlflow.source.git.commit': 'f'.repeat(40) },
          model: { metadata: { sha256: sha(onnx) } },
        },
        // Linked through the ONNX bytes logged with the run.
        { runId: 'b'.repeat(32), name: 'train-b', metrics: [['loss', 0.4, 1700000004000, 1]], model: { onnx: onnxB1 } },
        // No model: a run record only.
        { runId: 'c'.repeat(32), name: 'exploration', params: { lr: '1' } },
      ],
      registered: {
        name: 'shapes',
        versions: [
          { version: 1, runId: 'a'.repeat(32), aliases: ['baseline'] },
          { version: 2, runId: 'c'.repeat(32) },
        ],
      },
    });
    const report = expectData(await op(IMPORT_MLFLOW, { trackingUri: pathToFileURL(store).href })).importMlflow;
    expect(report.failed).toBe(0);
    expect(report.items.filter((i: any) => i.action === 'linked').map((i: any) => i.name)).toEqual([
      'train-a -> v1',
      'train-b -> v2',
    ]);
    expect(report.items.find((i: any) => i.kind === 'registered-model' && i.version === 2).reason).toContain(
      'run link only',
    );
    const { model } = expectData(
      await t.gql(
        `{ model(name: "shapes") { versions { version mlflowRun { runId runName experimentName params metrics tags } } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(model.versions[0].mlflowRun).toMatchObject({
      runId: 'a'.repeat(32),
      runName: 'train-a',
      experimentName: 'shapes',
      params: { lr: '0.1', epochs: '3' },
      // FileStore's "latest": max by (step, timestamp, value).
      metrics: { loss: 0.7 },
    });
    expect(model.versions[1].mlflowRun.runName).toBe('train-b');
    const history = await t.app.db.prisma.mlflowMetric.findMany({
      where: { run: { runId: 'a'.repeat(32) }, key: 'loss' },
      orderBy: { timestamp: 'asc' },
    });
    expect(history.map((h) => [h.value, Number(h.step)])).toEqual([
      [0.9, 1],
      [0.5, 2],
      [0.7, 2],
    ]);
    const { modelVersion } = expectData(
      await t.gql(
        `{ modelVersion(ref: { model: "shapes", version: 1 }) { mlflowRun { status metricHistory(key: "loss") { value step timestamp } } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(modelVersion.mlflowRun).toEqual({
      status: 'FINISHED',
      metricHistory: [
        { value: 0.9, step: 1, timestamp: 1700000001000 },
        { value: 0.5, step: 2, timestamp: 1700000002000 },
        { value: 0.7, step: 2, timestamp: 1700000003000 },
      ],
    });
    const nan = await t.app.db.prisma.mlflowMetric.findFirstOrThrow({ where: { key: 'acc' } });
    expect(nan.value).toBeNaN();
    const again = expectData(await op(IMPORT_MLFLOW, { trackingUri: store })).importMlflow;
    expect(again.items.map((i: any) => i.action)).toEqual(again.items.map(() => 'unchanged'));
    expectError(await op(IMPORT_MLFLOW, { trackingUri: path.join(dir, 'none') }), 'BAD_USER_INPUT');
  });

  it('does not follow an MLmodel whose ONNX file lies outside the run, and names malformed files', async () => {
    await t.app.services.models.register(t.app.localActor(), { ...GRAY_MODEL, name: 'outside' });
    const store = path.join(dir, 'mlruns-escape');
    writeMlflowStore(store, {
      experimentId: '1',
      experiment: 'e',
      runs: [{ runId: 'd'.repeat(32), name: 'sneaky', model: {} }],
      registered: { name: 'outside', versions: [{ version: 1, runId: 'd'.repeat(32) }] },
    });
    writeFileSync(path.join(dir, 'secret.onnx'), onnx);
    const mlmodel = path.join(store, '1', 'd'.repeat(32), 'artifacts', 'model', 'MLmodel');
    writeFileSync(
      mlmodel,
      readFileSync(mlmodel, 'utf8').replace('data: model.onnx', 'data: ../../../../../secret.onnx'),
    );
    const report = expectData(await op(IMPORT_MLFLOW, { trackingUri: store })).importMlflow;
    expect(report.items.find((i: any) => i.kind === 'registered-model').reason).toContain('run link only');
    expect(
      expectData(await t.gql(`{ model(name: "outside") { versions { version } } }`, {}, t.keys.viewer)).model.versions,
    ).toEqual([]);
    writeFileSync(path.join(store, '1', 'meta.yaml'), 'name: [broken\n');
    expect(expectError(await op(IMPORT_MLFLOW, { trackingUri: store }), 'BAD_USER_INPUT').message).toMatch(
      /meta\.yaml is not valid YAML: .*line \d+/,
    );
  });

  it('never reads through a link out of the FileStore (params -> /etc, linked metrics, tag file and artifacts), importing the rest', async () => {
    await t.app.services.models.register(t.app.localActor(), { ...GRAY_MODEL, name: 'linked' });
    const store = path.join(dir, 'mlruns');
    const runId = 'f'.repeat(32);
    writeMlflowStore(store, {
      experimentId: '7',
      experiment: 'links',
      runs: [
        {
          runId,
          name: 'linked-run',
          params: { lr: '0.1' },
          metrics: [['loss', 0.5, 1700000001000, 1]],
          tags: { team: 'a' },
          model: { onnx },
        },
      ],
      registered: { name: 'linked', versions: [{ version: 1, runId }] },
    });
    const runDir = path.join(store, '7', runId);
    // Outside the store: metrics, a secret, and a model folder that would register a version.
    const outside = path.join(dir, 'outside');
    mkdirSync(path.join(outside, 'metrics'), { recursive: true });
    writeFileSync(path.join(outside, 'metrics', 'stolen'), '1700000009000 42 0\n');
    writeFileSync(path.join(outside, 'secret.txt'), 'do-not-read');
    cpSync(path.join(runDir, 'artifacts'), path.join(outside, 'artifacts'), { recursive: true });
    const relink = (name: string, target: string) => {
      rmSync(path.join(runDir, name), { recursive: true, force: true });
      symlinkSync(target, path.join(runDir, name));
    };
    relink('params', '/etc');
    relink('metrics', path.join(outside, 'metrics'));
    relink('artifacts', path.join(outside, 'artifacts'));
    relink('tags/leak', path.join(outside, 'secret.txt'));
    // Links that stay inside the store: a file is read, a folder (here a cycle) is not followed.
    relink('tags/team-alias', path.join(runDir, 'tags', 'team'));
    relink('tags/loop', path.join(runDir, 'tags'));
    const report = expectData(await op(IMPORT_MLFLOW, { trackingUri: store })).importMlflow;
    expect(report.failed).toBe(0);
    expect(report.items.filter((i: any) => i.action === 'skipped').map((i: any) => [i.name, i.reason])).toEqual(
      ['artifacts', 'metrics', 'params', 'tags/leak'].map((n) => [
        `7/${runId}/${n}`,
        'links outside the FileStore: not read',
      ]),
    );
    // The registered version's files lay behind the linked artifacts folder.
    expect(report.items.find((i: any) => i.kind === 'registered-model').reason).toContain('run link only');
    const run = await t.app.db.prisma.mlflowRun.findFirstOrThrow({ where: { runId } });
    expect([run.params, run.tags, run.metrics]).toEqual([
      {},
      { 'mlflow.runName': 'linked-run', team: 'a', 'team-alias': 'a' },
      {},
    ]);
    expect(await t.app.db.prisma.mlflowMetric.count({ where: { runId: run.id } })).toBe(0);
    expect(
      expectData(await t.gql(`{ model(name: "linked") { versions { version } } }`, {}, t.keys.viewer)).model.versions,
    ).toEqual([]);
  });

  it('refuses FileStore folders nested deeper than MAX_WALK_DEPTH with BAD_USER_INPUT naming the limit', async () => {
    const store = path.join(dir, 'mlruns');
    const runId = 'a'.repeat(32);
    writeMlflowStore(store, {
      experimentId: '8',
      experiment: 'deep',
      runs: [{ runId, name: 'deep' }],
      registered: { name: 'deep-model', versions: [] },
    });
    const deep = path.join(store, '8', runId, 'params', ...Array<string>(MAX_WALK_DEPTH + 1).fill('n'));
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, 'p'), 'x');
    const report = expectData(await op(IMPORT_MLFLOW, { trackingUri: store })).importMlflow;
    expect(report.items.map((i: any) => [i.kind, i.name, i.action])).toEqual([['experiment', 'deep', 'failed']]);
    expect(report.items[0].reason).toMatch(/: folders nested more than 16 deep \(MAX_WALK_DEPTH\)$/);
  });

  it('imports MLflow 3 LoggedModels: versions registered from models:/m-<id>, and copies (models:/<name>/<N>)', async () => {
    expectData(
      await t.gql(
        `mutation($i: RegisterModelInput!) { registerModel(input: $i) { name } }`,
        { i: { name: 'shapes', labels: GRAY_MODEL.labels, inputSpec: GRAY_MODEL.inputSpec } },
        t.keys.admin,
      ),
    );
    const store = path.join(dir, 'mlruns');
    const modelId = `m-${'1'.repeat(32)}`;
    writeMlflowStore(store, {
      experimentId: '42',
      experiment: 'mlflow3',
      runs: [{ runId: 'e'.repeat(32), name: 'train', loggedModel: { modelId, onnx } }],
      registered: {
        name: 'shapes',
        versions: [
          { version: 1, runId: 'e'.repeat(32), source: `models:/${modelId}`, modelId },
          { version: 2, runId: 'e'.repeat(32), source: 'models:/shapes/1', aliases: ['champion'] },
        ],
      },
    });
    const dry = expectData(await op(IMPORT_MLFLOW, { trackingUri: store, dryRun: true })).importMlflow;
    expect(dry.items.map((i: any) => [i.kind, i.action])).toEqual([
      ['run', 'would-create'],
      ['version', 'would-create'],
      ['registered-model', 'would-create'],
      ['registered-model', 'would-create'],
    ]);
    const report = expectData(await op(IMPORT_MLFLOW, { trackingUri: store })).importMlflow;
    expect(report.failed).toBe(0);
    expect(
      report.items.filter((i: any) => i.kind === 'registered-model').map((i: any) => [i.version, i.reason]),
    ).toEqual([
      [1, 'gateway version 1'],
      [2, 'gateway version 1'],
    ]);
    const { modelVersion } = expectData(
      await t.gql(
        `{ modelVersion(ref: { model: "shapes", alias: "champion" }) { version sha256 artifactUri mlflowRun { runName } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(modelVersion).toEqual({
      version: 1,
      sha256: sha(onnx),
      artifactUri: `models:/${modelId}`,
      mlflowRun: { runName: 'train' },
    });
  });

  it('imports the real MLflow 3.5 FileStore: nested runs, LoggedModels without ONNX as run links, registry copies and aliases', async () => {
    const store = path.join(dir, 'mlruns');
    cpSync(path.join(FIXTURES, 'formats', 'mlflow', 'filestore-mlflow3.5', 'mlruns'), store, { recursive: true });
    const report = expectData(await op(IMPORT_MLFLOW, { trackingUri: store })).importMlflow;
    expect(report.failed).toBe(0);
    // Its LoggedModels are an sklearn model and one whose files were never written: both seen, neither importable.
    const seen = report.items.filter((i: any) => i.kind === 'artifact' && i.action === 'skipped');
    expect(Object.fromEntries(seen.map((i: any) => [i.name.replace(/^.*\//, ''), i.reason]))).toEqual({
      'm-197681d0d2da401fbad8300ec11df9b7':
        'no onnx flavor (flavors: python_function, sklearn): log the model with mlflow.onnx to import it',
      'm-2b15a1738b31476690c10f51565a6f79': 'no MLmodel file among its files: nothing to import',
    });
    expect(report.items.filter((i: any) => i.kind === 'run').map((i: any) => [i.name, i.action])).toEqual([
      ['single_model_training', 'created'],
      ['hyperparameter_tuning', 'created'],
      ['cv_fold_4', 'created'],
      ['single_model_training', 'created'],
    ]);
    // Versions 14 and 15 name a run of an experiment this copy does not hold: recorded without it.
    const registered = await t.app.db.prisma.mlflowModelVersion.findMany({
      orderBy: { version: 'asc' },
      include: { run: true },
    });
    expect(registered.map((v) => [v.version, v.source, v.run?.runId ?? null, v.aliases, v.modelVersionId])).toEqual([
      [1, 'models:/m-197681d0d2da401fbad8300ec11df9b7', 'b923f0c310424625bd88a002bddce3bd', [], null],
      [14, 'models:/m-044f039f656a43e18d196147f99f2e2c', null, [], null],
      [15, 'models:/iris-classifier/14', null, [], null],
      [16, 'models:/m-2b15a1738b31476690c10f51565a6f79', 'bbf71be5a32f439e965d92b7db72f973', ['champion'], null],
      [17, 'models:/iris-classifier/16', 'bbf71be5a32f439e965d92b7db72f973', [], null],
    ]);
    const again = expectData(await op(IMPORT_MLFLOW, { trackingUri: store })).importMlflow;
    expect([again.created, again.updated, again.failed]).toEqual([0, 0, 0]);
  });
});
