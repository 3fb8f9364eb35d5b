import { type Command, Option } from 'commander';
import { table } from '../format';
import type { CommandContext } from './shared';

const CREATE_KEY =
  'mutation($name: String!, $role: ApiKeyRole!) ' +
  '{ createApiKey(name: $name, role: $role) { key apiKey { name role prefix createdAt } } }';

/** `keys create|list|revoke` (admin). */
export function register(program: Command, { run }: CommandContext): void {
  const keys = program.command('keys').description('manage API keys (admin)');
  keys
    .command('create <name>')
    .description('create an API key; the secret is printed once')
    .addOption(new Option('--role <role>', 'role').choices(['viewer', 'operator', 'admin']).makeOptionMandatory())
    .action((name, o) =>
      run<{ createApiKey: { key: string; apiKey: { name: string; role: string } } }>(
        CREATE_KEY,
        { name, role: String(o.role).toUpperCase() },
        ({ createApiKey: { key, apiKey } }) =>
          `created ${apiKey.role.toLowerCase()} key "${apiKey.name}" (shown only now):\n${key}`,
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
}
