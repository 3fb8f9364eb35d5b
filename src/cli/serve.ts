import { createApp } from '../app';
import { createLogger } from '../common/logger';
import { loadConfig } from '../config/config';
import { startServer } from '../http/server';
import { seedDemo } from '../importers/demo';

/** `modelgate serve`: migrate, make sure an admin key exists, listen, shut down cleanly on signals. */
export async function serve(opts: { port?: number | undefined }): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const app = await createApp(config, { logger });
  try {
    const created = await app.services.apiKeys.bootstrap(config.adminApiKey);
    if (created && !config.adminApiKey) {
      process.stdout.write(
        [
          '',
          '  First start: created the admin API key "admin". It is shown only this once:',
          '',
          `      ${created.key}`,
          '',
          `  Sign in with it at http://localhost:${opts.port || config.port}/ (the admin UI), send it as`,
          '  "Authorization: Bearer <key>", or pass --key <key> to the modelgate CLI.',
          '  Set ADMIN_API_KEY instead to choose the key yourself.',
          '',
        ].join('\n') + '\n',
      );
    } else if (created) {
      logger.info(
        { name: created.apiKey.name, revoked: created.revoked ?? [] },
        'registered ADMIN_API_KEY as an admin key; keys from its earlier values are revoked',
      );
    }
    // The embedded database has one process: whatever is staged now was left by a killed one.
    const swept = await app.artifacts.sweepStaging(app.db.kind === 'pglite' ? 0 : 60 * 60 * 1000);
    if (swept) logger.info({ removed: swept }, 'removed staged files that interrupted imports left behind');
    // A demo that cannot be imported is worth a warning, not a gateway that does not start.
    await seedDemo(app).catch((err) => logger.warn({ err }, 'could not seed the registry with the demo project'));
  } catch (e) {
    await app.close();
    throw e;
  }
  const server = await startServer(app, { port: opts.port }).catch(async (e) => {
    await app.close();
    throw e;
  });
  logger.info(
    {
      url: `${server.url}/graphql`,
      ui: `${server.url}/`,
      database: app.db.kind,
      location: app.db.location,
      dataDir: config.dataDir,
    },
    'modelgate is listening',
  );
  // Comparison jobs: queued ones start, and ones a stopped or killed gateway left resume.
  app.startWorkers();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    server
      .close()
      .then(() => app.close())
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err) => {
        logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      });
  };
  // `on`, not `once`: a second signal must reach `stop` (and exit at once), not Node's default.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
