import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

export interface ProjectModel {
  name: string;
  /** Path inside the project, e.g. models/gray.onnx. */
  path: string;
  bytes: Buffer;
  meta?: Record<string, unknown>;
}

export interface ProjectDataset {
  name: string;
  path: string;
  files: Record<string, Buffer | string>;
  meta?: Record<string, unknown>;
}

/**
 * Writes a DVC 3 project the way `dvc repro && dvc push` leaves it, from the formats in
 * tests/fixtures/formats/dvc: dvc.yaml artifacts, dvc.lock outs
 * (hash: md5, md5, size, nfiles), a local remote in DVC 3's layout (files/md5/ab/cdef), and, unless
 * `workspace` is false, workspace copies.
 */
export function writeDvcProject(
  root: string,
  opts: {
    models?: ProjectModel[];
    datasets?: ProjectDataset[];
    workspace?: boolean;
    remoteUrl?: string;
    /** DVC 2: no `hash` key, objects at the remote's root. */ legacy?: boolean;
  },
) {
  const remote = path.join(root, '..', `${path.basename(root)}-remote`);
  const hashKey = opts.legacy ? {} : { hash: 'md5' };
  const put = (bytes: Buffer | string, hash: string) => {
    const file = opts.legacy
      ? path.join(remote, hash.slice(0, 2), hash.slice(2))
      : path.join(remote, 'files', 'md5', hash.slice(0, 2), hash.slice(2));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
  };
  const workspace = (rel: string, bytes: Buffer | string) => {
    if (opts.workspace === false) return;
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), bytes);
  };
  const outs: Record<string, unknown>[] = [];
  const artifacts: Record<string, unknown> = {};
  for (const m of opts.models ?? []) {
    const hash = md5(m.bytes);
    put(m.bytes, hash);
    workspace(m.path, m.bytes);
    outs.push({ path: m.path, ...hashKey, md5: hash, size: m.bytes.length });
    artifacts[m.name] = { path: m.path, type: 'model', ...(m.meta ? { meta: m.meta } : {}) };
  }
  for (const d of opts.datasets ?? []) {
    const entries = Object.entries(d.files)
      .map(([relpath, bytes]) => ({ md5: md5(bytes), relpath, bytes }))
      .sort((a, b) => (a.relpath < b.relpath ? -1 : 1));
    for (const e of entries) {
      put(e.bytes, e.md5);
      workspace(path.posix.join(d.path, e.relpath), e.bytes);
    }
    // Python's json.dumps(sort_keys=True): ", " and ": " separators, keys sorted.
    const manifest = '[' + entries.map((e) => `{"md5": "${e.md5}", "relpath": "${e.relpath}"}`).join(', ') + ']';
    const dirHash = `${md5(manifest)}.dir`;
    put(manifest, dirHash);
    const size = entries.reduce((s, e) => s + Buffer.byteLength(e.bytes), 0);
    outs.push({ path: d.path, ...hashKey, md5: dirHash, size, nfiles: entries.length });
    artifacts[d.name] = { path: d.path, type: 'dataset', ...(d.meta ? { meta: d.meta } : {}) };
  }
  mkdirSync(path.join(root, '.dvc'), { recursive: true });
  writeFileSync(
    path.join(root, '.dvc', 'config'),
    `[core]\n    remote = storage\n['remote "storage"']\n    url = ${opts.remoteUrl ?? path.relative(path.join(root, '.dvc'), remote)}\n`,
  );
  writeFileSync(
    path.join(root, 'dvc.yaml'),
    YAML.stringify({ stages: { build: { cmd: 'true', outs: outs.map((o) => o.path) } }, artifacts }),
  );
  writeFileSync(
    path.join(root, 'dvc.lock'),
    YAML.stringify({ schema: '2.0', stages: { build: { cmd: 'true', outs } } }),
  );
  return { remote };
}
