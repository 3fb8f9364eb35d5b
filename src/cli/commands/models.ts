import type { Command } from 'commander';
import { fields, table } from '../format';
import { inlineOrFile, intArg, parseJson, parseLabels, type CommandContext } from './shared';

interface AliasRef {
  name: string;
  version: { version: number };
}

const aliasList = (aliases: AliasRef[]) => aliases.map((a) => `${a.name}=v${a.version.version}`).join(' ');

/** `models list|show|register`. */
export function register(program: Command, { run }: CommandContext): void {
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
          aliases: AliasRef[];
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
              aliases: aliasList(m.aliases),
            })),
          ),
      ),
    );
  models
    .command('show <name>')
    .description('show a model, its versions and aliases')
    .action((name) =>
      run<{ model: Record<string, unknown> & { versions: Record<string, unknown>[]; aliases: AliasRef[] } }>(
        `query($name: String!) { model(name: $name) { name task description labels inputSpec createdAt
          aliases { name version { version } } versions { version status aliases sha256 sizeBytes createdAt } } }`,
        { name },
        ({ model }) => {
          const { versions, aliases, ...rest } = model;
          return `${fields({ ...rest, aliases: aliasList(aliases) || '-' })}\n\n${table(versions)}`;
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
}
