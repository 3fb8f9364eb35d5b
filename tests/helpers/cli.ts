import { main } from '../../src/cli/main';

export interface Run {
  status: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process, capturing what it prints. */
export async function cli(...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(['node', 'modelgate', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { status, out: out.join('\n'), err: err.join('\n') };
}

/** Sets (undefined: unsets) environment variables; the returned function restores them. */
export function withEnv(vars: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
