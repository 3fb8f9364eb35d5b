import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createTestApp, dbKind, expectData, expectError, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

const REGISTER_MODEL = `mutation($input: RegisterModelInput!) { registerModel(input: $input) { name task labels inputSpec description createdAt } }`;
const REGISTER_VERSION = `mutation($input: RegisterVersionInput!) { registerVersion(input: $input) {
  id version status sha256 sizeBytes artifactUri aliases tags signature model { name } parent { version } dvc { md5 } mlflowRun { runId } } }`;
const MODEL_VERSION = `query($ref: VersionRefInput!) { modelVersion(ref: $ref) { version status aliases } }`;
const SET_ALIAS =
  `mutation($model: String!, $alias: String!, $version: Int!) ` +
  `{ setAlias(model: $model, alias: $alias, version: $version) { name updatedAt version { version } } }`;
const REMOVE_ALIAS = `mutation($model: String!, $alias: String!) { removeAlias(model: $model, alias: $alias) }`;

function sha256(file: string) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Every file under the artifact store, to prove a refusal wrote nothing. */
function storedFiles(t: TestApp): string[] {
  const root = path.join(t.dataDir, 'artifacts');
  try {
    return (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
      .filter((d) => d.isFile())
      .map((d) => path.join(d.parentPath, d.name));
  } catch {
    return [];
  }
}

describe(`registry over GraphQL (${dbKind()})`, () => {
  let t: TestApp;
  const op = (query: string, variables?: Record<string, unknown>) => t.gql(query, variables, t.keys.admin);
  const registerGray = (name = GRAY_MODEL.name) => op(REGISTER_MODEL, { input: { ...GRAY_MODEL, name } });
  const registerVersion = (model: string, file: string, tags?: unknown) =>
    op(REGISTER_VERSION, { input: { model, artifactPath: file, tags } });

  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  describe('registerModel', () => {
    it('stores the model with its spec completed by defaults', async () => {
      const { registerModel } = expectData(await registerGray());
      expect(registerModel).toMatchObject({
        name: 'gray',
        task: 'image-classification',
        labels: GRAY_MODEL.labels,
        description: null,
      });
      expect(registerModel.inputSpec).toEqual({
        width: 8,
        height: 8,
        channels: 1,
        mean: [0.5],
        std: [0.25],
        resize: 'resize',
        scale: 255,
        layout: 'NCHW',
        output: 'logits',
      });
      const { model } = expectData(
        await op(`{ model(name: "gray") { name labels versions { version } aliases { name } } }`),
      );
      expect(model).toEqual({ name: 'gray', labels: GRAY_MODEL.labels, versions: [], aliases: [] });
    });

    it('refuses a duplicate name with CONFLICT', async () => {
      expectData(await registerGray());
      expect(expectError(await registerGray(), 'CONFLICT').message).toBe('a model named "gray" already exists');
    });

    it('refuses bad specs, labels, names and tasks with BAD_USER_INPUT, storing nothing', async () => {
      const bad = [
        { ...GRAY_MODEL, inputSpec: { width: 8, height: 8, channels: 1, mean: [0.1, 0.2, 0.3] } },
        { ...GRAY_MODEL, inputSpec: { width: -8, height: 8, channels: 1 } },
        { ...GRAY_MODEL, inputSpec: { width: 8, height: 8, channels: 1, resize: 'squash' } },
        { ...GRAY_MODEL, labels: [] },
        { ...GRAY_MODEL, labels: ['a', 'a'] },
        { ...GRAY_MODEL, name: 'has space' },
        { ...GRAY_MODEL, task: 'object-detection' },
      ];
      for (const input of bad) expectError(await op(REGISTER_MODEL, { input }), 'BAD_USER_INPUT');
      expect(expectData(await op(`{ models { name } }`)).models).toEqual([]);
    });
  });

  describe('registerVersion', () => {
    beforeEach(async () => {
      expectData(await registerGray());
    });

    it('loads the file, records its hashes and signature, and copies it into the content-addressed store', async () => {
      const file = fixture('gray8x8-3class.onnx');
      const { registerVersion: v } = expectData(await registerVersion('gray', file, { team: 'vision', epochs: 3 }));
      const digest = sha256(file);
      expect(v).toMatchObject({
        version: 1,
        status: 'READY',
        sha256: digest,
        sizeBytes: String(readFileSync(file).length),
        artifactUri: `file://${file}`,
        aliases: [],
        tags: { team: 'vision', epochs: 3 },
        model: { name: 'gray' },
        parent: null,
        dvc: null,
        mlflowRun: null,
      });
      expect(typeof v.id).toBe('string');
      expect(v.signature).toMatchObject({
        input: 'input',
        output: 'logits',
        batch: 'dynamic',
        inputs: [{ name: 'input', type: 'float32', shape: ['N', 1, 8, 8] }],
      });
      const stored = path.join(t.dataDir, 'artifacts', 'sha256', digest.slice(0, 2), digest);
      expect(storedFiles(t)).toEqual([stored]);
      expect(sha256(stored)).toBe(digest);
    });

    it('records a fixed batch dimension of 1 and accepts dynamic spatial axes', async () => {
      expect(
        expectData(await registerVersion('gray', fixture('gray8x8-3class-batch1.onnx'))).registerVersion.signature
          .batch,
      ).toBe(1);
      expectData(
        await op(REGISTER_MODEL, {
          input: { name: 'rgb', labels: ['a', 'b', 'c', 'd'], inputSpec: { width: 224, height: 224, channels: 3 } },
        }),
      );
      expect(expectData(await registerVersion('rgb', fixture('rgb-dynamic-4class.onnx'))).registerVersion.version).toBe(
        1,
      );
    });

    it('stores identical bytes once, whatever the number of versions', async () => {
      const file = fixture('gray8x8-3class.onnx');
      expectData(await registerVersion('gray', file));
      expectData(await registerVersion('gray', file));
      expect(storedFiles(t)).toHaveLength(1);
    });

    it('refuses a PNG renamed .onnx, an empty file, a missing file and a contradicting graph, leaving the registry unchanged', async () => {
      const empty = path.join(t.dataDir, 'empty.onnx');
      writeFileSync(empty, '');
      const cases: [string, RegExp][] = [
        [fixture('png-renamed.onnx'), /is not a loadable ONNX graph/],
        [empty, /is empty/],
        [path.join(t.dataDir, 'nope.onnx'), /does not exist/],
        [
          fixture('rgb-dynamic-4class.onnx'),
          /has channels 3 .* but inputSpec says 1; output "logits" has 4 classes .* but the model has 3 labels/,
        ],
        [fixture('two-inputs.onnx'), /has 2 inputs .* name the image input in inputSpec.inputName/],
        [t.dataDir, /is not a regular file/],
      ];
      for (const [file, message] of cases) {
        const error = expectError(await registerVersion('gray', file), 'BAD_USER_INPUT');
        expect(error.message).toMatch(message);
      }
      expect(storedFiles(t)).toEqual([]);
      expect(expectData(await op(`{ model(name: "gray") { versions { version } } }`)).model.versions).toEqual([]);
      // Numbering was not consumed by the refusals.
      expect(expectData(await registerVersion('gray', fixture('gray8x8-3class.onnx'))).registerVersion.version).toBe(1);
    });

    it('refuses files outside IMPORT_ROOTS without saying whether they exist', async () => {
      for (const file of ['/etc/hostname', '/nonexistent/model.onnx']) {
        const error = expectError(await registerVersion('gray', file), 'BAD_USER_INPUT');
        expect(error.message).toBe(
          `artifactPath ${file} is outside the folders the gateway may read (IMPORT_ROOTS: ${t.config.importRoots.join(', ')})`,
        );
      }
    });

    it('refuses tags that are not a flat object', async () => {
      expectError(await registerVersion('gray', fixture('gray8x8-3class.onnx'), ['a']), 'BAD_USER_INPUT');
      expectError(
        await registerVersion('gray', fixture('gray8x8-3class.onnx'), { nested: { a: 1 } }),
        'BAD_USER_INPUT',
      );
    });

    it('refuses an unknown model with NOT_FOUND', async () => {
      expect(expectError(await registerVersion('nope', fixture('gray8x8-3class.onnx')), 'NOT_FOUND').message).toBe(
        'no model named "nope"',
      );
    });

    it('gives concurrent registrations distinct consecutive numbers', async () => {
      const file = fixture('gray8x8-3class.onnx');
      const copies = Array.from({ length: 8 }, (_, i) => {
        const copy = path.join(t.dataDir, `copy-${i}.onnx`);
        copyFileSync(file, copy);
        return copy;
      });
      const results = await Promise.all(copies.map((c) => registerVersion('gray', c)));
      const numbers = results.map((r) => expectData(r).registerVersion.version as number).sort((a, b) => a - b);
      expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });
  });

  describe('modelVersion and aliases', () => {
    beforeEach(async () => {
      expectData(await registerGray());
      for (let i = 0; i < 3; i++) expectData(await registerVersion('gray', fixture('gray8x8-3class.onnx')));
    });

    it('resolves by number, by alias, and by default: champion if set, else the latest READY version', async () => {
      expect(expectData(await op(MODEL_VERSION, { ref: { model: 'gray', version: 2 } })).modelVersion.version).toBe(2);
      expect(expectData(await op(MODEL_VERSION, { ref: { model: 'gray' } })).modelVersion.version).toBe(3);
      expectData(await op(SET_ALIAS, { model: 'gray', alias: 'champion', version: 1 }));
      expect(expectData(await op(MODEL_VERSION, { ref: { model: 'gray' } })).modelVersion).toEqual({
        version: 1,
        status: 'READY',
        aliases: ['champion'],
      });
      expectData(await op(SET_ALIAS, { model: 'gray', alias: 'candidate', version: 2 }));
      expect(
        expectData(await op(MODEL_VERSION, { ref: { model: 'gray', alias: 'candidate' } })).modelVersion.version,
      ).toBe(2);
      // A FAILED latest version is skipped by the default routing.
      await t.app.db.prisma.modelVersion.updateMany({
        where: { version: 3 },
        data: { status: 'FAILED', statusReason: 'sha256 mismatch' },
      });
      expectData(await op(REMOVE_ALIAS, { model: 'gray', alias: 'champion' }));
      expect(expectData(await op(MODEL_VERSION, { ref: { model: 'gray' } })).modelVersion.version).toBe(2);
    });

    it('answers NOT_FOUND for an unknown model, version or alias, and BAD_USER_INPUT for both at once', async () => {
      expect(expectError(await op(MODEL_VERSION, { ref: { model: 'nope' } }), 'NOT_FOUND').message).toBe(
        'no model named "nope"',
      );
      expect(expectError(await op(MODEL_VERSION, { ref: { model: 'gray', version: 9 } }), 'NOT_FOUND').message).toBe(
        'model "gray" has no version 9',
      );
      expect(expectError(await op(MODEL_VERSION, { ref: { model: 'gray', alias: 'prod' } }), 'NOT_FOUND').message).toBe(
        'model "gray" has no alias "prod"',
      );
      expectError(await op(`{ model(name: "nope") { name } }`), 'NOT_FOUND');
      expectError(await op(MODEL_VERSION, { ref: { model: 'gray', version: 1, alias: 'champion' } }), 'BAD_USER_INPUT');
      expectError(await op(SET_ALIAS, { model: 'gray', alias: 'champion', version: 7 }), 'NOT_FOUND');
      expectError(await op(SET_ALIAS, { model: 'nope', alias: 'champion', version: 1 }), 'NOT_FOUND');
    });

    it('refuses an alias on a FAILED version, naming the reason', async () => {
      await t.app.db.prisma.modelVersion.updateMany({
        where: { version: 2 },
        data: { status: 'FAILED', statusReason: 'does not load' },
      });
      const error = expectError(
        await op(SET_ALIAS, { model: 'gray', alias: 'champion', version: 2 }),
        'BAD_USER_INPUT',
      );
      expect(error.message).toBe(
        'version 2 of "gray" is FAILED (does not load): an alias can only point at a READY version',
      );
      expect(expectData(await op(`{ model(name: "gray") { aliases { name } } }`)).model.aliases).toEqual([]);
    });

    it('refuses an alias on a version of another model, down to the database constraint', async () => {
      expectData(await registerGray('other'));
      // Through the API, version numbers are per model: "other" has no version 3.
      expectError(await op(SET_ALIAS, { model: 'other', alias: 'champion', version: 3 }), 'NOT_FOUND');
      // Below the service, the composite foreign key refuses a cross-model pointer too.
      const prisma = t.app.db.prisma;
      const other = await prisma.model.findUniqueOrThrow({ where: { name: 'other' } });
      const grayV1 = await prisma.modelVersion.findFirstOrThrow({ where: { model: { name: 'gray' }, version: 1 } });
      await expect(
        prisma.alias.create({ data: { modelId: other.id, name: 'champion', versionId: grayV1.id } }),
      ).rejects.toThrow();
    });

    it('records every move of an alias in its history', async () => {
      expectData(await op(SET_ALIAS, { model: 'gray', alias: 'champion', version: 1 }));
      expectData(await t.gql(SET_ALIAS, { model: 'gray', alias: 'staging', version: 1 }, t.keys.operator));
      expectData(await op(SET_ALIAS, { model: 'gray', alias: 'champion', version: 2 }));
      expectData(await op(SET_ALIAS, { model: 'gray', alias: 'champion', version: 2 })); // no move, no event
      expect(expectData(await op(REMOVE_ALIAS, { model: 'gray', alias: 'champion' })).removeAlias).toBe(true);
      expect(expectData(await op(REMOVE_ALIAS, { model: 'gray', alias: 'champion' })).removeAlias).toBe(false);
      const { model } = expectData(
        await op(`{ model(name: "gray") {
        all: aliasHistory { alias fromVersion toVersion actor createdAt }
        champion: aliasHistory(alias: "champion") { fromVersion toVersion }
        aliases { name version { version } } } }`),
      );
      expect(model.all.map((e: any) => [e.alias, e.fromVersion, e.toVersion, e.actor.replace(/-\d+$/, '')])).toEqual([
        ['champion', null, 1, 'test-admin'],
        ['staging', null, 1, 'test-operator'],
        ['champion', 1, 2, 'test-admin'],
        ['champion', 2, null, 'test-admin'],
      ]);
      expect(model.champion).toEqual([
        { fromVersion: null, toVersion: 1 },
        { fromVersion: 1, toVersion: 2 },
        { fromVersion: 2, toVersion: null },
      ]);
      expect(model.aliases).toEqual([{ name: 'staging', version: { version: 1 } }]);
    });

    it('validates alias names', async () => {
      expectError(await op(SET_ALIAS, { model: 'gray', alias: '2', version: 1 }), 'BAD_USER_INPUT');
      expectError(await op(SET_ALIAS, { model: 'gray', alias: 'has space', version: 1 }), 'BAD_USER_INPUT');
    });
  });

  describe('text the database cannot store', () => {
    // Found by the fuzzer (tests/integration/fuzz.test.ts): PostgreSQL refuses U+0000 in text and
    // jsonb, and the embedded database's driver fails on unpaired UTF-16 surrogates, so these
    // reached the client as INTERNAL_SERVER_ERROR. Every one is BAD_USER_INPUT naming the field.
    const NUL = 'gr\u0000ay';
    const LONE = 'gray\ud800';

    it('refuses NUL and unpaired surrogates in names looked up, with BAD_USER_INPUT and storing nothing', async () => {
      expectData(await registerGray());
      for (const name of [NUL, LONE]) {
        expect(
          expectError(await registerVersion(name, fixture('gray8x8-3class.onnx')), 'BAD_USER_INPUT').extensions,
        ).toMatchObject({ details: { field: 'model' } });
        expectError(await op(SET_ALIAS, { model: name, alias: 'staging', version: 1 }), 'BAD_USER_INPUT');
        expectError(await op(REMOVE_ALIAS, { model: name, alias: 'staging' }), 'BAD_USER_INPUT');
        expectError(await op(MODEL_VERSION, { ref: { model: name } }), 'BAD_USER_INPUT');
        expectError(
          await op(`mutation($ref: VersionRefInput!) { loadVersion(ref: $ref) { state } }`, { ref: { model: name } }),
          'BAD_USER_INPUT',
        );
        expectError(
          await op(`mutation($ref: VersionRefInput!) { unloadVersion(ref: $ref) }`, { ref: { model: name } }),
          'BAD_USER_INPUT',
        );
        expectError(await op(`query($name: String!) { model(name: $name) { name } }`, { name }), 'BAD_USER_INPUT');
        expectError(
          await op(`mutation($name: String!) { revokeApiKey(name: $name) { name } }`, { name }),
          'BAD_USER_INPUT',
        );
      }
      expectError(await op(`query($s: String) { models(search: $s) { name } }`, { s: NUL }), 'BAD_USER_INPUT');
      expectError(await op(`query($s: String) { models(after: $s) { name } }`, { s: NUL }), 'BAD_USER_INPUT');
      expect(expectData(await op(`{ model(name: "gray") { versions { version } } }`)).model.versions).toEqual([]);
    });

    it('refuses NUL and unpaired surrogates in what a model or version stores', async () => {
      for (const input of [
        { ...GRAY_MODEL, labels: ['circle', NUL, 'triangle'] },
        { ...GRAY_MODEL, labels: ['circle', 'square', LONE] },
        { ...GRAY_MODEL, description: `a ${NUL}` },
        { ...GRAY_MODEL, inputSpec: { ...GRAY_MODEL.inputSpec, inputName: NUL } },
      ]) {
        expectError(await op(REGISTER_MODEL, { input }), 'BAD_USER_INPUT');
      }
      expect(expectData(await op(`{ models { name } }`)).models).toEqual([]);
      expectData(await registerGray());
      for (const tags of [{ [NUL]: 1 }, { team: NUL }, { team: LONE }])
        expectError(await registerVersion('gray', fixture('gray8x8-3class.onnx'), tags), 'BAD_USER_INPUT');
      expect(
        expectData(await registerVersion('gray', fixture('gray8x8-3class.onnx'), { team: 'ｇｒａｙ 🙂' }))
          .registerVersion.tags,
      ).toEqual({ team: 'ｇｒａｙ 🙂' });
    });
  });

  describe('models and datasets', () => {
    it('lists models by name with search and cursor paging', async () => {
      for (const name of ['delta', 'alpha', 'charlie', 'bravo']) expectData(await registerGray(name));
      expect(expectData(await op(`{ models { name } }`)).models.map((m: any) => m.name)).toEqual([
        'alpha',
        'bravo',
        'charlie',
        'delta',
      ]);
      expect(
        expectData(await op(`{ models(first: 2, after: "alpha") { name } }`)).models.map((m: any) => m.name),
      ).toEqual(['bravo', 'charlie']);
      expect(expectData(await op(`{ models(search: "ARL") { name } }`)).models.map((m: any) => m.name)).toEqual([
        'charlie',
      ]);
      expectError(await op(`{ models(first: 0) { name } }`), 'BAD_USER_INPUT');
    });

    it('lists datasets with their size and digest', async () => {
      const item = (p: string, labelIndex: number) => ({
        path: p,
        labelIndex,
        sha256: createHash('sha256').update(p).digest('hex'),
      });
      const local = t.app.localActor();
      const first = await t.app.services.datasets.create(local, {
        name: 'shapes',
        labels: ['a', 'b'],
        storageUri: 'file:///x',
        items: [item('a/1.png', 0), item('b/1.png', 1)],
      });
      const again = await t.app.services.datasets.create(local, {
        name: 'shapes',
        labels: ['a', 'b'],
        storageUri: 'file:///x',
        items: [item('b/1.png', 1), item('a/1.png', 0)],
      });
      expect(again).toEqual({ dataset: first.dataset, created: false });
      await t.app.services.datasets.create(local, {
        name: 'shapes',
        labels: ['a', 'b'],
        storageUri: 'file:///x',
        items: [item('a/1.png', 0)],
      });
      const { datasets } = expectData(await op(`{ datasets { name version labels size digest } }`));
      expect(datasets.map((d: any) => [d.name, d.version, d.size])).toEqual([
        ['shapes', 1, 2],
        ['shapes', 2, 1],
      ]);
      expect(datasets[0].digest).toMatch(/^[0-9a-f]{64}$/);
      expect(datasets[0].digest).not.toBe(datasets[1].digest);
      for (const bad of ['/etc/passwd', '../outside.png', 'a/../../b.png', 'a\\b.png', './a.png', '']) {
        await expect(
          t.app.services.datasets.create(local, {
            name: 'shapes',
            labels: ['a', 'b'],
            storageUri: 'file:///x',
            items: [item(bad, 0)],
          }),
        ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      }
      const items = await t.app.services.datasets.items(local, first.dataset, 0, 10);
      expect(items.map((i) => [i.ordinal, i.path, i.labelIndex])).toEqual([
        [0, 'a/1.png', 0],
        [1, 'b/1.png', 1],
      ]);
    });
  });
});
