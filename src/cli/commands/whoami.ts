import type { Command } from 'commander';
import type { CommandContext } from './shared';

/** `whoami`. */
export function register(program: Command, { run }: CommandContext): void {
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
