import path from 'node:path';
import type { Command } from 'commander';
import { GatewayError } from '../client';
import { table } from '../format';
import { inlineOrFile, parseJson, parseLabels, type CommandContext } from './shared';

interface ImportReport {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  skipped: number;
  items: { kind: string; name: string; version: number | null; action: string; reason: string | null }[];
}

const REPORT = `created updated unchanged failed skipped items { kind name version action reason }`;

/** The report, and totals in the words of what happened (or, in a dry run, of what would). */
export function reportTable(r: ImportReport, dryRun: boolean): string {
  const { skipped } = r;
  const totals = dryRun
    ? `dry run, nothing was changed: would create ${r.created}, would update ${r.updated}, unchanged ${r.unchanged}, would fail ${r.failed}, skipped ${skipped}`
    : `created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, failed ${r.failed}, skipped ${skipped}`;
  return `${table(r.items, ['kind', 'name', 'version', 'action', 'reason'])}\n\n${totals}`;
}

/** A report with failed items is an error for the shell (after it was printed): scripts must not read it as success. */
function failIfIncomplete(r: ImportReport, dryRun: boolean): void {
  if (r.failed === 0) return;
  const counted = r.items.filter((i) => i.action !== 'skipped').length;
  throw new GatewayError(
    'IMPORT_INCOMPLETE',
    `${r.failed} of ${counted} items ${dryRun ? 'would fail' : 'failed'} (the report above says why)${dryRun || r.failed === counted ? '' : '; the others were imported'}`,
  );
}

/** `import dvc|mlflow`. */
export function register(program: Command, { request }: CommandContext): void {
  const importer = program.command('import').description('import models, datasets and runs from DVC and MLflow');
  importer
    .command('dvc <path>')
    .description("import the model and dataset artifacts of a DVC project (path on the gateway's machine)")
    .option('--rev <rev>', 'git revision to read')
    .option('--model-path <path>', 'an ONNX output with no type: annotation (a .dvc file, dvc.lock or git tracks it)')
    .option('--model <name>', 'the model --model-path becomes a version of')
    .option('--dataset-path <path>', 'a directory output of labeled images with no type: annotation')
    .option('--dataset <name>', "the dataset's name (default: the folder's name)")
    .option(
      '--labels <labels>',
      'class names for a new --model and the dataset: comma-separated, a JSON array, or @file',
      parseLabels,
    )
    .option('--input-spec <json>', 'inputSpec for a new --model, as JSON or @file.json', (v) =>
      parseJson('--input-spec', inlineOrFile(v)),
    )
    .option('--labels-file <name>', 'a labels file inside --dataset-path (default: one folder per class)')
    .option('--dry-run', 'report what would change, change nothing')
    .action(async (repo, o) => {
      const dryRun = Boolean(o.dryRun);
      const d = await request<{ importDvc: ImportReport }>(
        `mutation($input: ImportDvcInput!) { importDvc(input: $input) { ${REPORT} } }`,
        {
          input: {
            repoPath: path.resolve(repo),
            rev: o.rev,
            dryRun,
            modelPath: o.modelPath,
            model: o.model,
            datasetPath: o.datasetPath,
            dataset: o.dataset,
            labels: o.labels,
            inputSpec: o.inputSpec,
            labelsFile: o.labelsFile,
          },
        },
        (d) => reportTable(d.importDvc, dryRun),
      );
      failIfIncomplete(d.importDvc, dryRun);
    });
  importer
    .command('mlflow <uri>')
    .description(
      'import runs, registered models and aliases from an MLflow FileStore (mlruns/, file://...) or tracking server (http(s)://...)',
    )
    .option('--experiment <name>', 'only this experiment')
    .option('--registered-model <name>', 'only this registered model (and the runs of its versions)')
    .option('--dry-run', 'report what would change, change nothing')
    .action(async (uri: string, o) => {
      const dryRun = Boolean(o.dryRun);
      const d = await request<{ importMlflow: ImportReport }>(
        `mutation($input: ImportMlflowInput!) { importMlflow(input: $input) { ${REPORT} } }`,
        {
          input: {
            trackingUri: /^[a-z]+:\/\//i.test(uri) ? uri : path.resolve(uri),
            experiment: o.experiment,
            registeredModel: o.registeredModel,
            dryRun,
          },
        },
        (d) => reportTable(d.importMlflow, dryRun),
      );
      failIfIncomplete(d.importMlflow, dryRun);
    });
}
