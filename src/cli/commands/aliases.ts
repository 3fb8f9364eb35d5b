import type { Command } from 'commander';
import { table } from '../format';
import { intArg, type CommandContext } from './shared';

const SET_ALIAS =
  'mutation($model: String!, $alias: String!, $version: Int!) ' +
  '{ setAlias(model: $model, alias: $alias, version: $version) { name updatedAt version { version } } }';

/** `alias set|remove|history`. */
export function register(program: Command, { run }: CommandContext): void {
  const alias = program.command('alias').description('move, remove and trace aliases');
  alias
    .command('set')
    .argument('<model>')
    .argument('<alias>')
    .argument('<version>', 'version number', intArg('version'))
    .description('point an alias at a READY version (pinned aliases need admin)')
    .action((model, name, version: number) =>
      run<{ setAlias: { name: string; version: { version: number }; updatedAt: string } }>(
        SET_ALIAS,
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
        `query($name: String!, $alias: String) { model(name: $name) { aliasHistory(alias: $alias) { alias fromVersion toVersion actor createdAt reason } } }`,
        { name: model, alias: name },
        (d) => table(d.model.aliasHistory),
      ),
    );
}
