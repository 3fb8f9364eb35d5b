import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * PGlite runs inside one process: a second process opening the same data directory would corrupt
 * it. A lock file naming the owner turns that into a clear error. A lock whose owner is gone is
 * stale and taken over; "gone" includes a reused pid (containers start every run as pid 1), told
 * apart by the process start time the lock records.
 */
export class DataDirInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `the embedded database in ${dir} is in use by another modelgate process (pid ${pid}); ` +
        `stop it, or talk to the running gateway with --url http://localhost:<port> --key <api key>`,
    );
    this.name = 'DataDirInUseError';
  }
}

interface Owner {
  pid: number;
  /** Start time of the process in clock ticks since boot (Linux), to detect pid reuse. */
  start: string | null;
}

/** Directories this process holds: a lock naming our pid but not listed here is a leftover. */
const held = new Set<string>();

/** State (field 3) and start time (field 22) from /proc/<pid>/stat; null off Linux. */
function procStat(pid: number): { state: string; start: string | null } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields counted after the command name, which is parenthesized and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] ?? null };
  } catch {
    return null;
  }
}

function startTime(pid: number): string | null {
  return procStat(pid)?.start ?? null;
}

function alive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = procStat(owner.pid);
  // A killed process stays a zombie until its parent reaps it: it holds nothing any more.
  if (now && (now.state === 'Z' || now.state === 'X')) return false;
  return owner.start === null || now?.start == null || now.start === owner.start;
}

function readOwner(file: string): Owner | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
    return Number.isInteger(parsed.pid) ? { pid: parsed.pid!, start: parsed.start ?? null } : null;
  } catch {
    return null;
  }
}

const same = (a: Owner | null, b: Owner | null) => a !== null && b !== null && a.pid === b.pid && a.start === b.start;

export function acquireDataDirLock(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'modelgate.lock');
  const key = path.resolve(dir);
  if (held.has(key)) throw new DataDirInUseError(dir, process.pid);
  const me: Owner = { pid: process.pid, start: startTime(process.pid) };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify({ ...me, since: new Date().toISOString() }));
      closeSync(fd);
      held.add(key);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        held.delete(key);
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readOwner(file);
    if (owner && owner.pid !== process.pid && alive(owner)) throw new DataDirInUseError(dir, owner.pid);
    // Stale: move it aside atomically, and put it back if what we moved is not what we judged
    // (another starter replaced it meanwhile).
    const aside = `${file}.stale-${process.pid}-${attempt}`;
    try {
      renameSync(file, aside);
    } catch {
      continue;
    }
    const moved = readOwner(aside);
    if (owner !== null && !same(moved, owner)) {
      try {
        renameSync(aside, file);
      } catch {
        /* the other starter will report */
      }
      throw new DataDirInUseError(dir, moved?.pid ?? -1);
    }
    unlinkSync(aside);
  }
  throw new Error(`could not take the lock on ${dir}`);
}
