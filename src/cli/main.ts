#!/usr/bin/env node
import 'reflect-metadata';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { DomainError } from '../common/errors';
import { createLogger } from '../common/logger';
import { ConfigError } from '../config/config';
import { DataDirInUseError } from '../db/pglite-lock';
import { GatewayError, localClient, remoteClient, type GatewayClient } from './client';
import { registerCommands, type Io } from './commands';
import { serve } from './serve';

export interface CliIo extends Io {
  err(text: string): void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
};

/** One line for the user; the exit status is 1 for every failure. */
function describe(e: unknown): string {
  if (e instanceof GatewayError || e instanceof DomainError) return `error [${e.code}]: ${e.message}`;
  if (e instanceof ConfigError || e instanceof DataDirInUseError) return e.message;
  if ((e as NodeJS.ErrnoException)?.code === 'EADDRINUSE') return `port already in use: ${(e as Error).message}`;
  if (e instanceof Error) return `unexpected error: ${process.env.NODE_ENV === 'development' ? e.stack : e.message}`;
  return `unexpected error: ${String(e)}`;
}

/** Runs the CLI; resolves to the exit status (serve resolves once listening and keeps running). */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const program = new Command('modelgate')
    .description('GraphQL model-registry gateway for image classifiers')
    .option('--url <url>', 'talk to a running gateway instead of the local data directory (env MODELGATE_URL)')
    .option('--key <key>', 'API key (env MODELGATE_API_KEY); local commands without one act as the local admin')
    .option('--json', 'print JSON instead of tables')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const connect = async (): Promise<GatewayClient> => {
    const o = program.opts<{ url?: string; key?: string }>();
    const url = o.url ?? process.env.MODELGATE_URL;
    const key = o.key ?? process.env.MODELGATE_API_KEY;
    if (url) return remoteClient(url, key);
    // Local commands log only problems, to stderr: stdout carries the answer (and --json).
    return localClient({ key, logger: createLogger(process.env.LOG_LEVEL ?? 'warn', {}, 2) });
  };

  program
    .command('serve')
    .description('run the gateway (the database is migrated on start)')
    .option('--port <port>', 'port (default: PORT or 4000)', (v) => {
      const port = Number(v);
      if (!/^\d+$/.test(v) || port > 65535)
        throw new InvalidArgumentError('port must be an integer between 0 and 65535');
      return port;
    })
    .action((o) => serve({ port: o.port }));

  program
    .command('migrate')
    .description('apply pending database migrations and exit (serve does this too)')
    .action(async () => {
      if (program.opts().url ?? process.env.MODELGATE_URL) {
        throw new GatewayError(
          'BAD_USER_INPUT',
          'migrate works on the local database (DATA_DIR or DATABASE_URL), not through --url',
        );
      }
      await (await connect()).close();
    });

  registerCommands(program, connect, io);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    io.err(`modelgate: ${describe(e)}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv).then((status) => {
    if (status !== 0) process.exit(status);
  });
}
