/**
 * A gateway as its own process, started exactly as a user starts it: `node dist/cli/main.js serve`
 * (migrate, ADMIN_API_KEY, demo seed when DEMO_SEED is true, listen). It listens on a free loopback
 * port (PORT=0; the URL is read from its "modelgate is listening" log line), its JSON log lines are
 * kept for the bench to read, and it is killed if the bench exits first.
 *
 * The environment is the one given plus PATH and HOME, not the bench's own: a DATABASE_URL or
 * LOG_LEVEL in the caller's shell does not leak into the gateway under test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { atExit } from './cleanup';

const ROOT = path.resolve(__dirname, '..', '..');
const MAX_LOG_LINES = 100_000;

export interface LogLine {
  level: number;
  /** Epoch ms, as pino writes it. */
  time: number;
  msg: string;
  fields: Record<string, unknown>;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatewayOptions {
  /** Variables for the gateway (DATA_DIR at least); PORT, HOST, NODE_ENV and LOG_LEVEL have bench defaults. */
  env: Record<string, string>;
  /** How long start-up (migrations, demo seed) may take, ms. */
  startTimeoutMs?: number;
  /** The checkout whose build runs (default: this one); another one's, to compare before and after. */
  checkout?: string;
  /** The script run instead of the checkout's dist/cli/main.js (tests: the sources, without a build). */
  entry?: string;
}

/** pino's numeric levels. */
export const LEVEL = { info: 30, warn: 40, error: 50, fatal: 60 } as const;

export class GatewayProcess {
  readonly logs: LogLine[] = [];
  /** Non-JSON output (stderr, and stdout lines that are not log lines), last 64 KB. */
  otherOutput = '';
  /** performance.now() when the "listening" line arrived (spawnedAt: just before spawn()). */
  listeningAt = NaN;
  /** http://127.0.0.1:<port> */
  base = '';
  readonly exited: Promise<Exit>;
  private exit: Exit | null = null;
  private readonly forget: () => void;
  private readonly watchers = new Set<(line: LogLine) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly spawnedAt: number,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
    this.forget = atExit(() => {
      if (this.running) child.kill('SIGKILL');
    });
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.stderr!.on('data', (d: Buffer) => this.keepOther(d.toString()));
  }

  /** Spawns `modelgate serve` and resolves once it listens (rejects with its last output if it exits first). */
  static async start(opts: GatewayOptions): Promise<GatewayProcess> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      ...opts.env,
    };
    const spawnedAt = performance.now();
    const root = opts.checkout ?? ROOT;
    const cli = opts.entry ?? path.join(root, 'dist', 'cli', 'main.js');
    const gw = new GatewayProcess(
      spawn(process.execPath, [cli, 'serve'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] }),
      spawnedAt,
    );
    try {
      const line = await gw.waitForLog((l) => l.msg === 'modelgate is listening', opts.startTimeoutMs ?? 180_000);
      gw.listeningAt = performance.now();
      gw.base = String(line.fields.url).replace(/\/graphql$/, '');
      return gw;
    } catch (e) {
      await gw.kill();
      throw e;
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exit === null;
  }

  get url(): string {
    return `${this.base}/graphql`;
  }

  /** The first log line (already logged or to come) that matches; rejects after the timeout or when the process exits. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs: number, since = 0): Promise<LogLine> {
    const found = this.logs.slice(since).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const done = (f: () => void) => {
        this.watchers.delete(watch);
        clearTimeout(timer);
        f();
      };
      const watch = (l: LogLine) => {
        if (match(l)) done(() => resolve(l));
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new Error(`gateway: no matching log line within ${timeoutMs} ms; last output: ${this.tail()}`)),
          ),
        timeoutMs,
      );
      this.watchers.add(watch);
      void this.exited.then((x) =>
        done(() =>
          reject(new Error(`gateway exited (code ${x.code}, signal ${x.signal}); last output: ${this.tail()}`)),
        ),
      );
    });
  }

  /** SIGTERM, then the exit (SIGKILL after `timeoutMs`): how it ended and how long it took. */
  async stop(timeoutMs = 30_000): Promise<Exit & { ms: number; forced: boolean }> {
    const started = performance.now();
    if (!this.running) return { ...this.exit!, ms: 0, forced: false };
    this.child.kill('SIGTERM');
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      this.child.kill('SIGKILL');
    }, timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    this.forget();
    return { ...exit, ms: performance.now() - started, forced };
  }

  /** SIGKILL (no chance to clean up), resolved once the process is gone and reaped. */
  async kill(): Promise<Exit> {
    if (this.running) this.child.kill('SIGKILL');
    const exit = await this.exited;
    this.forget();
    return exit;
  }

  /** Log lines at or above a level (LEVEL.warn, LEVEL.error). */
  linesAtLeast(level: number): LogLine[] {
    return this.logs.filter((l) => l.level >= level);
  }

  /** The last lines of output, for error messages. */
  tail(n = 3): string {
    const lines = this.logs.slice(-n).map((l) => `${l.msg} ${JSON.stringify(l.fields).slice(0, 300)}`);
    const other = this.otherOutput.trim().split('\n').slice(-n);
    return [...lines, ...other].filter(Boolean).join(' | ') || '(none)';
  }

  private onLine(line: string): void {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.keepOther(line + '\n');
      return;
    }
    const { level, time, msg, ...fields } = parsed;
    const entry: LogLine = { level: Number(level), time: Number(time), msg: String(msg ?? ''), fields };
    if (this.logs.length >= MAX_LOG_LINES) this.logs.splice(0, this.logs.length - MAX_LOG_LINES + 1);
    this.logs.push(entry);
    for (const w of [...this.watchers]) w(entry);
  }

  private keepOther(text: string): void {
    this.otherOutput = (this.otherOutput + text).slice(-65_536);
  }
}

/** The first line of each distinct error message (level error or above), with the error it carries. */
export function firstErrors(lines: readonly LogLine[], max = 5): string[] {
  const seen = new Map<string, string>();
  for (const l of lines) {
    if (l.level < LEVEL.error || seen.has(l.msg)) continue;
    const err = l.fields.err as { type?: string; message?: string; code?: string } | undefined;
    // Prisma's messages start with the invocation and end with the cause: keep the first and last lines.
    const lines = String(err?.message ?? '')
      .split('\n')
      .map((x) => x.trim())
      .filter(Boolean);
    const message = lines.length > 1 ? `${lines[0]} … ${lines[lines.length - 1]}` : (lines[0] ?? '');
    const detail = err
      ? `${err.type ?? 'Error'}${err.code ? ` (${err.code})` : ''}: ${message.slice(0, 240)}`
      : JSON.stringify(l.fields).slice(0, 200);
    seen.set(l.msg, `"${l.msg}" ${detail}`);
  }
  return [...seen.values()].slice(0, max);
}
