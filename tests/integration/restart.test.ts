import { existsSync } from 'node:fs';
import path from 'node:path';
import { createTestApp, dbKind, expectData, fixture, GRAY_MODEL } from '../helpers/test-app';

describe(`restart (${dbKind()})`, () => {
  it('keeps models, versions, aliases, history, keys and artifacts when the gateway is reopened', async () => {
    const first = await createTestApp({ pgliteOnDisk: true });
    const admin = first.app.localActor();
    await first.app.services.models.register(admin, GRAY_MODEL);
    const v = await first.app.services.versions.register(admin, {
      model: 'gray',
      artifactPath: fixture('gray8x8-3class.onnx'),
    });
    await first.app.services.aliases.set(admin, 'gray', 'champion', 1);
    const viewerKey = first.keys.viewer;
    if (dbKind() === 'pglite') expect(existsSync(path.join(first.dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
    await first.close({ keep: true });

    const second = await createTestApp({ reuse: { dataDir: first.dataDir, databaseUrl: first.config.databaseUrl } });
    try {
      const { model } = expectData(
        await second.gql(
          `{ model(name: "gray") { labels inputSpec versions { version sha256 aliases } aliasHistory { alias toVersion } } }`,
          {},
          viewerKey,
        ),
      );
      expect(model).toMatchObject({
        labels: GRAY_MODEL.labels,
        versions: [{ version: 1, sha256: v.sha256, aliases: ['champion'] }],
        aliasHistory: [{ alias: 'champion', toVersion: 1 }],
      });
      expect(existsSync(second.app.artifacts.absolute(v.localPath))).toBe(true);
      // Numbering continues where it stopped.
      const next = await second.app.services.versions.register(second.app.localActor(), {
        model: 'gray',
        artifactPath: fixture('gray8x8-3class.onnx'),
      });
      expect(next.version).toBe(2);
    } finally {
      await second.close();
    }
  });
});
