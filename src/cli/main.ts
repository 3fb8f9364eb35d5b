#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { createLogger } from '../common/logger';
import { ConfigError } from '../config/config';
import { DataDirInUseError } from '../db/pglite-lock';
import { GatewayError, localClient, remoteClient, type GatewayClient } from './client';
import { registerCommands } from './commands';
import { serve } from './serve';

function fail(message: string, code = 1): never {
  process.stderr.write(`modelgate: ${message}\n`);
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('modelgate')
    .description('GraphQL model-registry gateway for image classifiers')
    .option('--url <url>', 'talk to a running gateway instead of the local data directory (env MODELGATE_URL)')
    .option('--key <key>', 'API key (env MODELGATE_API_KEY); local commands without one act as the local admin')
    .option('--json', 'print JSON instead of tables')
    .showHelpAfterError();

  const connect = async (): Promise<GatewayClient> => {
    const o = program.opts<{ url?: string; key?: string }>();
    const url = o.url ?? process.env.MODELGATE_URL;
    const key = o.key ?? process.env.MODELGATE_API_KEY;
    if (url) return remoteClient(url, key);
    // Local commands log only problems: their output is the answer.
    return localClient({ key, logger: createLogger(process.env.LOG_LEVEL ?? 'warn') });
  };

  program
    .command('serve')
    .description('run the gateway (the database is migrated on start)')
    .option('--port <port>', 'port (default: PORT or 4000)', (v) => Number(v))
    .action((o) => serve({ port: o.port }));

  program
    .command('migrate')
    .description('apply pending database migrations and exit (serve does this too)')
    .action(async () => {
      const client = await connect();
      await client.close();
    });

  registerCommands(program, connect, { out: (text) => process.stdout.write(text + '\n') });
  await program.parseAsync(argv);
}

if (require.main === module) {
  main(process.argv).catch((e: unknown) => {
    if (e instanceof ConfigError) fail(e.message);
    if (e instanceof GatewayError) fail(`error [${e.code}]: ${e.message}`);
    if (e instanceof DataDirInUseError) fail(e.message);
    if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(`port already in use: ${e.message}`);
    fail(`unexpected error: ${e instanceof Error ? (process.env.NODE_ENV === 'development' ? e.stack : e.message) : String(e)}`);
  });
}
