import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * PGlite runs inside one process: a second process opening the same data directory would corrupt
 * it. A lock file with the owner's pid turns that into a clear error; a stale file (its process
 * gone) is taken over.
 */
export class DataDirInUseError extends Error {
  constructor(readonly dir: string, readonly pid: number) {
    super(
      `the embedded database in ${dir} is in use by another modelgate process (pid ${pid}); ` +
        `stop it, or talk to the running gateway with --url http://localhost:<port> --key <api key>`,
    );
    this.name = 'DataDirInUseError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireDataDirLock(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'modelgate.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid = NaN;
      try {
        pid = Number(JSON.parse(readFileSync(file, 'utf8')).pid);
      } catch {
        /* half-written or foreign file: treat as stale */
      }
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) throw new DataDirInUseError(dir, pid);
      if (pid === process.pid) throw new DataDirInUseError(dir, pid);
      try {
        unlinkSync(file);
      } catch {
        /* raced with another taker: retry */
      }
    }
  }
  throw new Error(`could not take the lock on ${dir}`);
}
