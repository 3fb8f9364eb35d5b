import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireDataDirLock, DataDirInUseError } from '../../src/db/pglite-lock';

/** Start time (field 22 of /proc/<pid>/stat), as the lock records it. */
const startOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;

describe('the embedded data directory lock', () => {
  let dir: string;
  const lockFile = () => path.join(dir, 'modelgate.lock');
  const owner = () => JSON.parse(readFileSync(lockFile(), 'utf8')) as { pid: number; start: string | null };
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Takes the lock over a stale one: afterwards we own it, nothing is left aside, and release frees it. */
  function expectTakeOver(): void {
    const release = acquireDataDirLock(dir);
    expect(owner()).toMatchObject({ pid: process.pid, start: startOf(process.pid) });
    expect(readdirSync(dir)).toEqual(['modelgate.lock']);
    release();
    expect(readdirSync(dir)).toEqual([]);
  }

  it('is exclusive while held and free once released', () => {
    const release = acquireDataDirLock(dir);
    expect(owner()).toMatchObject({ pid: process.pid, start: startOf(process.pid) });
    expect(() => acquireDataDirLock(dir)).toThrow(DataDirInUseError);
    release();
    expect(existsSync(lockFile())).toBe(false);
    release(); // a second call is harmless
    const again = acquireDataDirLock(dir);
    expect(owner().pid).toBe(process.pid);
    again();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('refuses a directory held by another live process, and leaves its lock alone', () => {
    // The parent of this process is alive and is not us.
    const theirs = JSON.stringify({ pid: process.ppid, start: startOf(process.ppid) });
    writeFileSync(lockFile(), theirs);
    expect(() => acquireDataDirLock(dir)).toThrow(
      new RegExp(`in use by another modelgate process \\(pid ${process.ppid}\\)`),
    );
    expect(readFileSync(lockFile(), 'utf8')).toBe(theirs);
    expect(readdirSync(dir)).toEqual(['modelgate.lock']);
  });

  it('takes over a lock left by a dead process', () => {
    writeFileSync(lockFile(), JSON.stringify({ pid: 2 ** 22 + 12345, start: '1' }));
    expectTakeOver();
  });

  it('takes over a lock with our pid written by an earlier process (a container restart runs as the same pid)', () => {
    writeFileSync(lockFile(), JSON.stringify({ pid: process.pid, start: 'earlier' }));
    expectTakeOver();
  });

  it('takes over a lock whose live pid has another start time (the pid was reused)', () => {
    writeFileSync(lockFile(), JSON.stringify({ pid: process.ppid, start: 'earlier' }));
    expectTakeOver();
  });

  it('takes over an unreadable lock file', () => {
    writeFileSync(lockFile(), '{half');
    expectTakeOver();
  });
});
