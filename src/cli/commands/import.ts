import path from 'node:path';
import type { Command } from 'commander';
import { table } from '../format';
import type { CommandContext } from './shared';

interface ImportReport {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  items: Record<string, unknown>[];
}

const REPORT = `created updated unchanged failed items { kind name version action reason }`;

function reportTable(r: ImportReport): string {
  const totals = `created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, failed ${r.failed}`;
  return `${table(r.items, ['kind', 'name', 'version', 'action', 'reason'])}\n\n${totals}`;
}

/** `import dvc|mlflow`. */
export function register(program: Command, { run }: CommandContext): void {
  const importer = program.command('import').description('import models, datasets and runs from DVC and MLflow');
  importer
    .command('dvc <path>')
    .description("import the model and dataset artifacts of a DVC project (path on the gateway's machine)")
    .option('--rev <rev>', 'git revision to read')
    .option('--dry-run', 'report what would change, change nothing')
    .action((repo, o) =>
      run<{ importDvc: ImportReport }>(
        `mutation($input: ImportDvcInput!) { importDvc(input: $input) { ${REPORT} } }`,
        { input: { repoPath: path.resolve(repo), rev: o.rev, dryRun: Boolean(o.dryRun) } },
        (d) => reportTable(d.importDvc),
      ),
    );
  importer
    .command('mlflow <uri>')
    .description(
      'import runs, registered models and aliases from an MLflow FileStore (mlruns/, file://...) or tracking server (http(s)://...)',
    )
    .option('--experiment <name>', 'only this experiment')
    .option('--registered-model <name>', 'only this registered model')
    .option('--dry-run', 'report what would change, change nothing')
    .action((uri: string, o) =>
      run<{ importMlflow: ImportReport }>(
        `mutation($input: ImportMlflowInput!) { importMlflow(input: $input) { ${REPORT} } }`,
        {
          input: {
            trackingUri: /^[a-z]+:\/\//i.test(uri) ? uri : path.resolve(uri),
            experiment: o.experiment,
            registeredModel: o.registeredModel,
            dryRun: Boolean(o.dryRun),
          },
        },
        (d) => reportTable(d.importMlflow),
      ),
    );
}
