import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import type { GatewayClient } from '../client';

export interface Io {
  out(text: string): void;
  /** Progress and diagnostics (stderr), kept out of what scripts read. */
  err?(text: string): void;
}

/** Opens a client lazily, per command: `--help` and argument errors never touch the database. */
export type Connect = () => Promise<GatewayClient>;

/** What every command group needs: the client, the output and the global `--json` flag. */
export interface CommandContext {
  readonly connect: Connect;
  readonly io: Io;
  json(): boolean;
  /** Prints `data` as JSON with `--json`, else the text `render` makes of it. */
  print<T>(data: T, render: (data: T) => string): void;
  /** One request on a fresh client (closed afterwards), its answer printed. */
  run<T>(query: string, variables: Record<string, unknown>, render: (data: T) => string): Promise<void>;
  /** `run`, returning the answer too (for a command whose exit status depends on it). */
  request<T>(query: string, variables: Record<string, unknown>, render: (data: T) => string): Promise<T>;
}

export function commandContext(program: Command, connect: Connect, io: Io): CommandContext {
  // Read when a command runs: commander has parsed the global options by then, not at registration.
  const json = () => Boolean(program.opts().json);
  const print = <T>(data: T, render: (data: T) => string) =>
    io.out(json() ? JSON.stringify(data, null, 2) : render(data));
  const request = async <T>(query: string, variables: Record<string, unknown>, render: (data: T) => string) => {
    const client = await connect();
    try {
      const data = await client.request<T>(query, variables);
      print(data, render);
      return data;
    } finally {
      await client.close();
    }
  };
  return {
    connect,
    io,
    json,
    print,
    request,
    async run<T>(query: string, variables: Record<string, unknown>, render: (data: T) => string) {
      await request(query, variables, render);
    },
  };
}

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
export function inlineOrFile(value: string): string {
  if (!value.startsWith('@')) return value;
  try {
    return readFileSync(value.slice(1), 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`cannot read ${value.slice(1)}: ${fileError(e)}`);
  }
}

export function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** `--labels`: comma-separated, a JSON array, or @file with one label per line. */
export function parseLabels(value: string): string[] {
  const text = inlineOrFile(value).trim();
  if (text.startsWith('[')) return parseJson('--labels', text) as string[];
  // A file holds one label per line; inline, labels are comma-separated.
  return (value.startsWith('@') ? text.split(/\r?\n/) : text.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** A version reference: a number is a version, anything else an alias, nothing the default route. */
export function versionRef(model: string, ref?: string) {
  return {
    model,
    ...(ref === undefined ? {} : /^\d+$/.test(ref) ? { version: Number(ref) } : { alias: ref }),
  };
}

/** Why a local file could not be used, as the user's error (the errno code, else the message). */
export function fileError(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}
