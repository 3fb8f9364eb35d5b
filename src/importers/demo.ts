import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from '../app';
import type { Actor } from '../auth/actor';
import type { ImportReport } from './report';

const SEED_ACTOR: Actor = { name: 'demo-seed', kind: 'local', role: 'admin' };

/**
 * First start on an empty registry: imports the demo project through the same importers users run
 * on their own projects (DVC first, for the bytes and datasets; MLflow second, for the runs).
 * Returns null when nothing was imported (registry not empty, seeding off, no demo project).
 */
export async function seedDemo(app: App): Promise<{ dvc: ImportReport; mlflow: ImportReport } | null> {
  const repo = app.config.demoRepo;
  if (!repo) return null;
  const { models, datasets, dvcImporter, mlflowImporter } = app.services;
  if ((await models.list(SEED_ACTOR, { first: 1 })).length > 0 || (await datasets.list(SEED_ACTOR)).length > 0)
    return null;
  if (!existsSync(path.join(repo, '.dvc', 'config'))) {
    app.logger.warn({ repo }, 'no demo project to seed the empty registry with');
    return null;
  }
  const started = Date.now();
  const dvc = await dvcImporter.import(SEED_ACTOR, { repoPath: repo });
  const mlflow = await mlflowImporter.import(SEED_ACTOR, {
    trackingUri: pathToFileURL(path.join(repo, 'mlruns')).href,
  });
  const failed = [...dvc.items, ...mlflow.items].filter((i) => i.action === 'failed');
  app.logger[failed.length ? 'warn' : 'info'](
    {
      repo,
      ms: Date.now() - started,
      dvc: { created: dvc.created, failed: dvc.failed },
      mlflow: { created: mlflow.created, updated: mlflow.updated, failed: mlflow.failed },
      failures: failed,
    },
    'seeded the empty registry with the demo project',
  );
  return { dvc, mlflow };
}
