import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DomainError } from '../../src/common/errors';
import { parseDvcConfig } from '../../src/importers/dvc/config';
import { MAX_CLASSES, readLabels } from '../../src/importers/dvc/labels';
import { DvcObjects, dvcMd5 } from '../../src/importers/dvc/objects';
import { loadDvcProject } from '../../src/importers/dvc/project';
import { FIXTURES } from '../helpers/test-app';

// Real files of public DVC projects, in tests/fixtures/formats/dvc (its README.md gives each file's
// repository, path and commit).
const DVC = path.join(FIXTURES, 'formats', 'dvc');
const GET_STARTED = path.join(DVC, 'example-get-started');

describe('DVC formats', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-dvc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads .dvc/config of DVC 0.x (not indented) and 3.x (quoted sections)', () => {
    const old = parseDvcConfig(readFileSync(path.join(GET_STARTED, '2019-09-03-dvc0', 'dot-dvc', 'config'), 'utf8'));
    expect(old.defaultRemote).toBe('storage');
    expect(old.remotes.get('storage')?.url).toBe('https://remote.dvc.org/get-started');
    const v3 = parseDvcConfig(readFileSync(path.join(GET_STARTED, 'head-dvc3', 'dot-dvc', 'config'), 'utf8'));
    expect(v3.defaultRemote).toBe('public-s3');
    expect(v3.remotes.get('public-s3')?.url).toBe('https://remote.dvc.org/get-started');
    // config.local overrides: read after config.
    const local = parseDvcConfig(
      '[core]\n    remote = a\n',
      '[core]\n    remote = b\n[\'remote "b"\']\n    url = /srv/dvc\n',
    );
    expect([local.defaultRemote, local.remotes.get('b')?.url]).toEqual(['b', '/srv/dvc']);
  });

  it("resolves the verified .dir test vectors of DVC's own tests, file by file", async () => {
    // test_get_url_granular: {foo: "foo", bar: "bar", nested/file: "file"}; manifest 5fc28ea7...dir.
    cpSync(path.join(DVC, 'cache-layout'), path.join(dir, '.dvc', 'cache'), { recursive: true });
    const put = (content: string) => {
      const md5 = createHash('md5').update(content).digest('hex');
      const file = path.join(dir, '.dvc', 'cache', 'files', 'md5', md5.slice(0, 2), md5.slice(2));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
    };
    ['foo', 'bar', 'file'].forEach(put);
    const objects = new DvcObjects(dir, parseDvcConfig(''));
    const result = await objects.locateDir(
      'data',
      { path: 'data', md5: '5fc28ea78987408341668eba6525ebd1.dir', size: null, nfiles: 3, legacy: false, remote: null },
      null,
    );
    expect(result.source).toBe('cache');
    expect(result.files.map((f) => [f.relpath, readFileSync(f.file, 'utf8')])).toEqual([
      ['bar', 'bar'],
      ['foo', 'foo'],
      ['nested/file', 'file'],
    ]);
    expect(result.files.every((f) => f.source === 'cache')).toBe(true);
  });

  it('hashes like DVC: raw bytes for DVC 3, CRLF as LF in text files for legacy outputs', async () => {
    const text = path.join(dir, 't.txt');
    writeFileSync(text, 'foo\r\n');
    const binary = path.join(dir, 'b.bin');
    writeFileSync(binary, Buffer.from([0, 13, 10, 255]));
    expect(await dvcMd5(text, false)).toBe('2145971cf82058b108229a3a2e3bff35'); // md5("foo\r\n")
    expect(await dvcMd5(text, true)).toBe('d3b07384d113edec49eaa6238ad5ff00'); // md5("foo\n"), test_commit.py
    expect(await dvcMd5(binary, true)).toBe(await dvcMd5(binary, false));
    // Text is judged on the first 512 bytes, form feeds included (dvc_data's istextfile): a file
    // whose first 512 bytes are text counts as text even with binary bytes after them.
    const mixed = path.join(dir, 'mixed');
    writeFileSync(mixed, Buffer.concat([Buffer.from('a\f\r\n'.repeat(128)), Buffer.from([0, 255, 13, 10])]));
    const expected = createHash('md5')
      .update(Buffer.concat([Buffer.from('a\f\n'.repeat(128)), Buffer.from([0, 255, 10])]))
      .digest('hex');
    expect(await dvcMd5(mixed, true)).toBe(expected);
  });

  it.each([
    ['example-get-started/2020-06-19-dvc1/dvc.lock', 'data/prepared', true],
    ['example-get-started/2022-10-29-dvc2/dvc.lock', 'data/prepared', true],
    ['example-get-started-experiments/head-dvc3/dvc.lock', 'data/test_data', false],
  ])('reads outputs of a %s (legacy: %s)', async (file, out, legacy) => {
    mkdirSync(path.join(dir, '.dvc'));
    writeFileSync(path.join(dir, '.dvc', 'config'), '');
    cpSync(path.join(DVC, file), path.join(dir, 'dvc.lock'));
    const project = await loadDvcProject(dir);
    const entry = project.outs.get(out as string)!;
    expect(entry.md5).toMatch(/^[0-9a-f]{32}\.dir$/);
    expect(entry.legacy).toBe(legacy);
  });

  it('reads labels from a CSV file, a JSON file or class folders', () => {
    expect(
      readLabels(['a.png', 'b.png'], { name: 'l.csv', text: 'path,label\na.png,1\nb.png,0\n' }, ['x', 'y']),
    ).toEqual({
      labels: ['x', 'y'],
      items: [
        { relpath: 'a.png', label: 1 },
        { relpath: 'b.png', label: 0 },
      ],
      skipped: [],
    });
    expect(readLabels(['a.png'], { name: 'l.json', text: '{"a.png": "cat"}' }, ['dog', 'cat']).items).toEqual([
      { relpath: 'a.png', label: 1 },
    ]);
    expect(readLabels(['cat/1.png', 'dog/2.png'], null, null)).toEqual({
      labels: ['cat', 'dog'],
      items: [
        { relpath: 'cat/1.png', label: 0 },
        { relpath: 'dog/2.png', label: 1 },
      ],
      skipped: [],
    });
    // Class names from the CSV's class column when dvc.yaml gives none.
    expect(
      readLabels(
        ['a.png', 'b.png'],
        { name: 'l.csv', text: 'path,label,class\na.png,1,Trouser\nb.png,0,"T-shirt/top"\n' },
        null,
      ).labels,
    ).toEqual(['T-shirt/top', 'Trouser']);
    expect(() => readLabels(['a.png'], { name: 'l.csv', text: 'path,label\nb.png,0\n' }, ['x'])).toThrow(
      'not in the dataset',
    );
    expect(() => readLabels(['a.png'], { name: 'l.csv', text: 'path,label\na.png,5\n' }, ['x'])).toThrow(
      'not one of the 1 classes',
    );
  });

  it('refuses a class index past MAX_CLASSES before allocating anything, and skips paths leading out of the dataset', () => {
    const huge = () => readLabels(['a.png'], { name: 'l.csv', text: 'path,label\na.png,1000000000\n' }, null);
    expect(huge).toThrow(DomainError);
    expect(huge).toThrow(`a.png: class index 1000000000 is beyond MAX_CLASSES (${MAX_CLASSES})`);
    expect(() =>
      readLabels(['a.png'], { name: 'l.json', text: '[{"path": "a.png", "label": 1000000000}]' }, null),
    ).toThrow('MAX_CLASSES');
    expect(() => readLabels(['a.png'], { name: 'l.csv', text: 'path,label\na.png,1000000000\n' }, ['x', 'y'])).toThrow(
      'not one of the 2 classes',
    );
    expect(() => readLabels(['a.png'], { name: 'l.json', text: 'null' }, null)).toThrow(
      'must be a JSON list or object',
    );
    expect(
      readLabels(['a.png'], { name: 'l.csv', text: 'path,label\na.png,1\n../x.png,0\n/etc/passwd,0\n' }, null),
    ).toEqual({
      labels: ['0', '1'],
      items: [{ relpath: 'a.png', label: 1 }],
      skipped: [
        { relpath: '../x.png', reason: 'the path leads outside the dataset: not read' },
        { relpath: '/etc/passwd', reason: 'the path leads outside the dataset: not read' },
      ],
    });
  });
});
