/**
 * A throwaway PostgreSQL cluster of the bench's own (initdb + pg_ctl), on a free loopback port, for
 * faults that stop the database server. The machine's shared server (port 5432) is never touched.
 *
 * initdb refuses to run as root: as root, every command runs as the `postgres` user (runuser), in a
 * temporary directory owned by it. The cluster listens on 127.0.0.1 only, with trust
 * authentication, its Unix socket in that directory; at exit it is stopped (immediate) and deleted,
 * however the bench ends. `freeze()` stops its processes (SIGSTOP) for faults where the server
 * hangs instead of going away.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { atExit, tempDir } from './cleanup';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 binaries unless PG_BIN names another folder. */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

const asRoot = () => process.getuid?.() === 0;

/** The command line for a PostgreSQL binary, as the postgres user when we are root. */
function command(binary: string, args: string[]): [string, string[]] {
  const file = path.join(PG_BIN, binary);
  return asRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
}

/** Whether a TCP port on 127.0.0.1 is free now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export class PrivatePostgres {
  /** Processes stopped by freeze(), until thaw(). */
  private frozen: number[] = [];
  private readonly remove: () => void;

  private constructor(
    readonly dir: string,
    readonly port: number,
    removeDir: () => void,
  ) {
    // Registered before anything starts: a bench that dies leaves no server behind (nor a frozen one).
    this.remove = atExit(() => {
      this.thaw();
      const [file, args] = command('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', 'stop']);
      if (existsSync(path.join(this.dataDir, 'postmaster.pid')))
        spawnSync(file, args, { stdio: 'ignore', timeout: 30_000 });
      removeDir();
    });
  }

  /** Why a private cluster cannot be made here, or null when it can. */
  static unavailable(): string | null {
    if (!existsSync(path.join(PG_BIN, 'initdb')) || !existsSync(path.join(PG_BIN, 'pg_ctl')))
      return `no initdb/pg_ctl in ${PG_BIN} (set PG_BIN)`;
    if (asRoot() && spawnSync('id', ['-u', 'postgres']).status !== 0)
      return 'running as root and there is no postgres user to run initdb as';
    return null;
  }

  /** initdb in a temporary directory and start, on the first free port from `preferredPort` on. */
  static async create(preferredPort = 55432): Promise<PrivatePostgres> {
    let port = preferredPort;
    while (!(await portFree(port))) port++;
    const tmp = tempDir('modelgate-pg-');
    if (asRoot()) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
      chownSync(tmp.path, uid, gid);
    }
    const pg = new PrivatePostgres(tmp.path, port, tmp.remove);
    await pg.exec('initdb', [
      '-D',
      pg.dataDir,
      '-A',
      'trust',
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    await pg.start();
    return pg;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  get logFile(): string {
    return path.join(this.dir, 'postgres.log');
  }

  url(database = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** pg_ctl start, waiting until it accepts connections. */
  async start(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir}`;
    await this.exec('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', '-o', options, 'start']);
  }

  /** pg_ctl stop (fast: sessions are terminated, in-flight transactions rolled back), waiting until it is down. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.exec('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  /**
   * SIGSTOP to the postmaster and every backend: the kernel still accepts TCP connections, the
   * server answers nothing, open sessions included (a hung or partitioned database server).
   */
  freeze(): void {
    const postmaster = Number(readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = spawnSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map(Number);
    this.frozen = [postmaster, ...children];
    for (const pid of this.frozen) process.kill(pid, 'SIGSTOP');
  }

  /** SIGCONT to what freeze() stopped. */
  thaw(): void {
    for (const pid of this.frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone meanwhile
      }
    }
    this.frozen = [];
  }

  /** Stops the server (immediate) and deletes the cluster. */
  destroy(): void {
    this.remove();
  }

  /** The server's own log, last lines. */
  logTail(lines = 10): string[] {
    try {
      return readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines);
    } catch {
      return [];
    }
  }

  private async exec(binary: string, args: string[]): Promise<void> {
    const [file, argv] = command(binary, args);
    try {
      await run(file, argv, { timeout: 90_000 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${binary} failed: ${(err.stderr ?? '').trim() || err.message}`, { cause: e });
    }
  }
}
