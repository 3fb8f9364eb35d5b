import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { badInput } from '../common/errors';
import { GatewayError, type GatewayClient } from './client';
import { fields, table } from './format';

export interface Io {
  out(text: string): void;
  /** Progress and diagnostics (stderr), kept out of what scripts read. */
  err?(text: string): void;
}

/** The headline numbers of a finished comparison, for the CLI's summary. */
function pick(c: Record<string, unknown>): Record<string, unknown> {
  const m = (x: unknown) => x as { accuracy: number; macroF1: number; ece: number; latencyMsP50: number };
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const b = m(c.baselineMetrics);
  const k = m(c.candidateMetrics);
  const ci = c.accuracyDeltaCi95 as [number, number];
  return {
    verdict: c.verdict,
    accuracy: `${pct(k.accuracy)} vs ${pct(b.accuracy)} (baseline)`,
    'accuracy difference': `${((c.accuracyDelta as number) * 100).toFixed(2)} pts, 95% CI ${(ci[0] * 100).toFixed(2)}..${(ci[1] * 100).toFixed(2)}`,
    'McNemar p': (c.mcnemarPValue as number).toPrecision(3),
    'b / c': `${c.discordantBaselineOnly} / ${c.discordantCandidateOnly} of ${c.n}`,
    agreement: pct(c.agreement as number),
    'macro-F1': `${k.macroF1.toFixed(4)} vs ${b.macroF1.toFixed(4)}`,
    ECE: `${k.ece.toFixed(4)} vs ${b.ece.toFixed(4)}`,
    'latency p50 (ms)': `${k.latencyMsP50.toFixed(1)} vs ${b.latencyMsP50.toFixed(1)}`,
  };
}

type Connect = () => Promise<GatewayClient>;

const VERSION_FIELDS = `id version status statusReason aliases artifactUri sha256 md5 sizeBytes tags createdAt
  parent { version } dvc { repo rev path md5 remote } mlflowRun { runId runName experimentName trackingUri }`;

export function numberArg(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
    return n;
  };
}

export function intArg(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

/** A value given inline or, as `@file`, read from a file. */
function inlineOrFile(value: string): string {
  if (!value.startsWith('@')) return value;
  try {
    return readFileSync(value.slice(1), 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(
      `cannot read ${value.slice(1)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

function parseLabels(value: string): string[] {
  const text = inlineOrFile(value).trim();
  if (text.startsWith('[')) return parseJson('--labels', text) as string[];
  // A file holds one label per line; inline, labels are comma-separated.
  return (value.startsWith('@') ? text.split(/\r?\n/) : text.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** Registers the registry commands on `program`. `connect` opens a client lazily, per command. */
export function registerCommands(program: Command, connect: Connect, io: Io): void {
  const json = () => Boolean(program.opts().json);
  const run = async <T>(query: string, variables: Record<string, unknown>, render: (data: T) => string) => {
    const client = await connect();
    try {
      const data = await client.request<T>(query, variables);
      io.out(json() ? JSON.stringify(data, null, 2) : render(data));
    } finally {
      await client.close();
    }
  };

  const models = program.command('models').description('list, show and register models');
  models
    .command('list')
    .description('list models with their versions and aliases')
    .option('--search <text>', 'filter by name or description')
    .option('--first <n>', 'page size', intArg('--first'))
    .option('--after <name>', 'continue after this model name')
    .action((o) =>
      run<{
        models: {
          name: string;
          task: string;
          labels: string[];
          versions: { version: number }[];
          aliases: { name: string; version: { version: number } }[];
        }[];
      }>(
        `query($search: String, $first: Int, $after: String) { models(search: $search, first: $first, after: $after) {
          name task labels description createdAt versions { version status } aliases { name version { version } } } }`,
        { search: o.search, first: o.first, after: o.after },
        (d) =>
          table(
            d.models.map((m) => ({
              name: m.name,
              task: m.task,
              labels: m.labels.length,
              versions: m.versions.length,
              aliases: m.aliases.map((a) => `${a.name}=v${a.version.version}`).join(' '),
            })),
          ),
      ),
    );
  models
    .command('show <name>')
    .description('show a model, its versions and aliases')
    .action((name) =>
      run<{
        model: Record<string, unknown> & {
          versions: Record<string, unknown>[];
          aliases: { name: string; version: { version: number } }[];
        };
      }>(
        `query($name: String!) { model(name: $name) { name task description labels inputSpec createdAt
          aliases { name version { version } } versions { version status aliases sha256 sizeBytes createdAt } } }`,
        { name },
        ({ model }) => {
          const { versions, aliases, ...rest } = model;
          return `${fields({ ...rest, aliases: aliases.map((a) => `${a.name}=v${a.version.version}`).join(' ') || '-' })}\n\n${table(versions)}`;
        },
      ),
    );
  models
    .command('register <name>')
    .description('register a model: its labels and how images become its input tensor')
    .requiredOption(
      '--labels <labels>',
      'comma-separated class names, a JSON array, or @file (one per line)',
      parseLabels,
    )
    .requiredOption('--input-spec <json>', 'the inputSpec as JSON, or @file.json', (v) =>
      parseJson('--input-spec', inlineOrFile(v)),
    )
    .option('--task <task>', 'task', 'image-classification')
    .option('--description <text>', 'description')
    .action((name, o) =>
      run<{ registerModel: Record<string, unknown> }>(
        `mutation($input: RegisterModelInput!) { registerModel(input: $input) { name task labels inputSpec createdAt } }`,
        { input: { name, labels: o.labels, inputSpec: o.inputSpec, task: o.task, description: o.description } },
        (d) => `registered model\n${fields(d.registerModel)}`,
      ),
    );

  const versions = program.command('versions').description('list, show and register model versions');
  versions
    .command('list <model>')
    .description('list the versions of a model')
    .action((model) =>
      run<{ model: { versions: Record<string, unknown>[] } }>(
        `query($name: String!) { model(name: $name) { versions { version status aliases sha256 sizeBytes artifactUri createdAt } } }`,
        { name: model },
        (d) => table(d.model.versions),
      ),
    );
  versions
    .command('show <model> [versionOrAlias]')
    .description('show one version: a number, an alias, or nothing for the default (champion, else latest READY)')
    .action((model, ref?: string) =>
      run<{ modelVersion: Record<string, unknown> }>(
        `query($ref: VersionRefInput!) { modelVersion(ref: $ref) { ${VERSION_FIELDS} signature } }`,
        { ref: versionRef(model, ref) },
        (d) => fields(d.modelVersion),
      ),
    );
  versions
    .command('register <model> <file>')
    .description("register an ONNX file as the next version (the file is read on the gateway's machine)")
    .option('--tags <json>', 'free tags as a JSON object, or @file.json', (v) => parseJson('--tags', inlineOrFile(v)))
    .action((model, file, o) =>
      run<{ registerVersion: Record<string, unknown> & { version: number } }>(
        `mutation($input: RegisterVersionInput!) { registerVersion(input: $input) { ${VERSION_FIELDS} } }`,
        { input: { model, artifactPath: path.resolve(file), tags: o.tags } },
        (d) => `registered ${model} v${d.registerVersion.version}\n${fields(d.registerVersion)}`,
      ),
    );

  const alias = program.command('alias').description('move, remove and trace aliases');
  alias
    .command('set')
    .argument('<model>')
    .argument('<alias>')
    .argument('<version>', 'version number', intArg('version'))
    .description('point an alias at a READY version (pinned aliases need admin)')
    .action((model, name, version: number) =>
      run<{ setAlias: { name: string; version: { version: number }; updatedAt: string } }>(
        `mutation($model: String!, $alias: String!, $version: Int!) { setAlias(model: $model, alias: $alias, version: $version) { name updatedAt version { version } } }`,
        { model, alias: name, version },
        (d) => `${model}: ${d.setAlias.name} -> v${d.setAlias.version.version}`,
      ),
    );
  alias
    .command('remove <model> <alias>')
    .description('remove an alias')
    .action((model, name) =>
      run<{ removeAlias: boolean }>(
        `mutation($model: String!, $alias: String!) { removeAlias(model: $model, alias: $alias) }`,
        { model, alias: name },
        (d) => (d.removeAlias ? `${model}: removed ${name}` : `${model}: no alias ${name}`),
      ),
    );
  alias
    .command('history <model> [alias]')
    .description("every move of the model's aliases, oldest first")
    .action((model, name) =>
      run<{ model: { aliasHistory: Record<string, unknown>[] } }>(
        `query($name: String!, $alias: String) { model(name: $name) { aliasHistory(alias: $alias) { alias fromVersion toVersion actor createdAt } } }`,
        { name: model, alias: name },
        (d) => table(d.model.aliasHistory),
      ),
    );

  const importer = program.command('import').description('import models, datasets and runs from DVC and MLflow');
  const reportTable = (r: {
    created: number;
    updated: number;
    unchanged: number;
    failed: number;
    items: Record<string, unknown>[];
  }) =>
    `${table(r.items, ['kind', 'name', 'version', 'action', 'reason'])}\n\ncreated ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, failed ${r.failed}`;
  const REPORT = `created updated unchanged failed items { kind name version action reason }`;
  importer
    .command('dvc <path>')
    .description("import the model and dataset artifacts of a DVC project (path on the gateway's machine)")
    .option('--rev <rev>', 'git revision to read')
    .option('--dry-run', 'report what would change, change nothing')
    .action((repo, o) =>
      run<{ importDvc: Parameters<typeof reportTable>[0] }>(
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
      run<{ importMlflow: Parameters<typeof reportTable>[0] }>(
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

  program
    .command('datasets')
    .description('list evaluation datasets')
    .action(() =>
      run<{ datasets: Record<string, unknown>[] }>(`{ datasets { name version size digest createdAt } }`, {}, (d) =>
        table(d.datasets),
      ),
    );

  const keys = program.command('keys').description('manage API keys (admin)');
  keys
    .command('create <name>')
    .description('create an API key; the secret is printed once')
    .addOption(new Option('--role <role>', 'role').choices(['viewer', 'operator', 'admin']).makeOptionMandatory())
    .action((name, o) =>
      run<{ createApiKey: { key: string; apiKey: { name: string; role: string } } }>(
        `mutation($name: String!, $role: ApiKeyRole!) { createApiKey(name: $name, role: $role) { key apiKey { name role prefix createdAt } } }`,
        { name, role: String(o.role).toUpperCase() },
        (d) =>
          `created ${d.createApiKey.apiKey.role.toLowerCase()} key "${d.createApiKey.apiKey.name}" (shown only now):\n${d.createApiKey.key}`,
      ),
    );
  keys
    .command('list')
    .description('list API keys (never their secrets)')
    .action(() =>
      run<{ apiKeys: Record<string, unknown>[] }>(
        `{ apiKeys { name role prefix createdAt lastUsedAt revokedAt } }`,
        {},
        (d) => table(d.apiKeys),
      ),
    );
  keys
    .command('revoke <name>')
    .description('revoke an API key')
    .action((name) =>
      run<{ revokeApiKey: { name: string; revokedAt: string } }>(
        `mutation($name: String!) { revokeApiKey(name: $name) { name revokedAt } }`,
        { name },
        (d) => `revoked ${d.revokeApiKey.name} at ${d.revokeApiKey.revokedAt}`,
      ),
    );

  const versionRef = (model: string, ref?: string) => ({
    model,
    ...(ref === undefined ? {} : /^\d+$/.test(ref) ? { version: Number(ref) } : { alias: ref }),
  });
  program
    .command('predict <model> <image...>')
    .description(
      'classify images (read here, sent as base64) with a version: --version N, --alias A, or the default route',
    )
    .option('--version <n>', 'version number', intArg('--version'))
    .option('--alias <alias>', 'alias, e.g. baseline')
    .option('--top <k>', 'classes to show per image', intArg('--top'), 3)
    .action(async (model, images: string[], o) => {
      const ref = versionRef(model, o.version !== undefined ? String(o.version) : o.alias);
      const read = (file: string) => {
        try {
          return readFileSync(file).toString('base64');
        } catch (e) {
          throw badInput(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      };
      type P = {
        modelVersion: { version: number };
        resolvedBy: string;
        executionProvider: string;
        top: { label: string; probability: number }[];
        timingsMs: { total: number; batchSize: number };
      };
      const client = await connect();
      const results: P[] = [];
      try {
        // In requests of 32 images: a predictBatch carries at most 64.
        for (let i = 0; i < images.length; i += 32) {
          const d = await client.request<{ predictBatch: P[] }>(
            `query($ref: VersionRefInput!, $images: [ImageInput!]!, $topK: Int) { predictBatch(ref: $ref, images: $images, topK: $topK) {
              modelVersion { version } resolvedBy executionProvider top { label probability } timingsMs } }`,
            { ref, images: images.slice(i, i + 32).map((f) => ({ base64: read(f) })), topK: o.top },
          );
          results.push(...d.predictBatch);
        }
      } finally {
        await client.close();
      }
      io.out(
        json()
          ? JSON.stringify({ predictBatch: results }, null, 2)
          : table(
              results.map((p, i) => ({
                image: images[i]!,
                version: `v${p.modelVersion.version}`,
                resolvedBy: p.resolvedBy,
                top: p.top.map((c) => `${c.label} ${(c.probability * 100).toFixed(1)}%`).join('; '),
                ms: p.timingsMs.total.toFixed(1),
              })),
            ),
      );
    });

  /** `model`, `model@3` (version) or `model@baseline` (alias). */
  const parseRef = (text: string) => {
    const [model, at] = text.split('@') as [string, string | undefined];
    if (!model || text.split('@').length > 2)
      throw new InvalidArgumentError(`"${text}" must be model, model@<version> or model@<alias>`);
    return versionRef(model, at);
  };
  program
    .command('compare <candidate>')
    .description(
      'compare a version (model, model@3, model@alias) against the baseline on a labeled dataset, with paired statistics and a verdict',
    )
    .requiredOption('--dataset <name>', 'dataset name, or name@version')
    .option('--baseline <ref>', 'baseline version (default: the model\'s "baseline" alias)')
    .option('--alpha <a>', 'significance level (default 0.05)', numberArg('--alpha'))
    .option('--limit <n>', 'evaluate the first N items only', intArg('--limit'))
    .option('--margin <m>', 'non-inferiority margin on the accuracy difference, e.g. 0.01', numberArg('--margin'))
    .option('--force', 'recompute even when an identical comparison exists')
    .option('--report <file>', 'write a self-contained report (.html for HTML, else Markdown)')
    .option('--no-wait', 'queue it and print its id without waiting')
    .action(async (candidate: string, o) => {
      const client = await connect();
      try {
        const FIELDS = `id status progress itemsDone total etaSeconds summary error verdict accuracyDelta accuracyDeltaCi95 mcnemarPValue
          discordantBaselineOnly discordantCandidateOnly agreement n baselineMetrics { accuracy macroF1 ece latencyMsP50 } candidateMetrics { accuracy macroF1 ece latencyMsP50 }`;
        type C = {
          id: string;
          status: string;
          progress: number;
          itemsDone: number;
          total: number;
          etaSeconds: number | null;
          summary: string | null;
          error: string | null;
        } & Record<string, unknown>;
        const input = {
          candidate: parseRef(candidate),
          ...(o.baseline ? { baseline: parseRef(o.baseline) } : {}),
          dataset: o.dataset,
          ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
          ...(o.limit !== undefined ? { limit: o.limit } : {}),
          ...(o.margin !== undefined ? { nonInferiorityMargin: o.margin } : {}),
          ...(o.force ? { force: true } : {}),
        };
        let c = (
          await client.request<{ startComparison: C }>(
            `mutation($input: StartComparisonInput!) { startComparison(input: $input) { ${FIELDS} } }`,
            { input },
          )
        ).startComparison;
        if (!o.wait) {
          io.out(json() ? JSON.stringify(c, null, 2) : `comparison ${c.id} is ${c.status}`);
          return;
        }
        client.startWorkers?.();
        let last = '';
        while (c.status === 'QUEUED' || c.status === 'RUNNING') {
          const line = `comparison ${c.id}: ${c.status.toLowerCase()} ${c.itemsDone}/${c.total}${c.etaSeconds !== null ? `, about ${Math.ceil(c.etaSeconds)} s left` : ''}`;
          if (line !== last && !json()) io.err?.(line);
          last = line;
          await new Promise((r) => setTimeout(r, 1000));
          c = (
            await client.request<{ comparison: C }>(`query($id: ID!) { comparison(id: $id) { ${FIELDS} } }`, {
              id: c.id,
            })
          ).comparison;
        }
        if (c.status !== 'SUCCEEDED')
          throw new GatewayError(
            c.status === 'CANCELLED' ? 'CANCELLED' : 'COMPARISON_FAILED',
            `comparison ${c.id} ${c.status.toLowerCase()}${c.error ? `: ${c.error}` : ''}`,
          );
        if (o.report) {
          const format = /\.html?$/i.test(o.report) ? 'HTML' : 'MARKDOWN';
          const { comparison } = await client.request<{ comparison: { report: string } }>(
            `query($id: ID!, $f: ReportFormat!) { comparison(id: $id) { report(format: $f) } }`,
            { id: c.id, f: format },
          );
          try {
            writeFileSync(o.report, comparison.report);
          } catch (e) {
            throw badInput(`cannot write ${o.report}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
          }
        }
        io.out(
          json()
            ? JSON.stringify(c, null, 2)
            : [
                c.summary,
                fields({ comparison: c.id, ...pick(c) }),
                ...(o.report ? [`report written to ${o.report}`] : []),
              ].join('\n'),
        );
      } finally {
        await client.close();
      }
    });

  program
    .command('whoami')
    .description('show the identity and role the gateway gives you')
    .action(() =>
      run<{ viewer: { name: string; role: string | null } }>(
        `{ viewer { name role } }`,
        {},
        (d) => `${d.viewer.name} (${d.viewer.role?.toLowerCase() ?? 'no role'})`,
      ),
    );
}
