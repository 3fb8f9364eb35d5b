import type { Command } from 'commander';
import { register as aliases } from './aliases';
import { register as compare } from './compare';
import { register as datasets } from './datasets';
import { register as experiments } from './experiments';
import { register as importers } from './import';
import { register as keys } from './keys';
import { register as models } from './models';
import { register as optimize } from './optimize';
import { register as predict } from './predict';
import { commandContext, type Connect, type Io } from './shared';
import { register as versions } from './versions';
import { register as whoami } from './whoami';

export { intArg, numberArg, type Connect, type Io } from './shared';

/** In the order `--help` lists them. */
const GROUPS = [models, versions, aliases, importers, datasets, keys, predict, compare, optimize, experiments, whoami];

/** Registers the registry commands on `program`. `connect` opens a client lazily, per command. */
export function registerCommands(program: Command, connect: Connect, io: Io): void {
  const ctx = commandContext(program, connect, io);
  for (const register of GROUPS) register(program, ctx);
}
