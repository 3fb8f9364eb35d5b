import type { Command } from 'commander';
import { table } from '../format';
import type { CommandContext } from './shared';

/** `datasets`. */
export function register(program: Command, { run }: CommandContext): void {
  program
    .command('datasets')
    .description('list evaluation datasets')
    .action(() =>
      run<{ datasets: Record<string, unknown>[] }>(`{ datasets { name version size digest createdAt } }`, {}, (d) =>
        table(d.datasets),
      ),
    );
}
