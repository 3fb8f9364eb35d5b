import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireDataDirLock, DataDirInUseError } from '../../src/db/pglite-lock';

describe('the embedded data directory lock', () => {
  let dir: string;
  const lockFile = () => path.join(dir, 'modelgate.lock');
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is exclusive while held and free once released', () => {
    const release = acquireDataDirLock(dir);
    expect(JSON.parse(readFileSync(lockFile(), 'utf8')).pid).toBe(process.pid);
    expect(() => acquireDataDirLock(dir)).toThrow(DataDirInUseError);
    release();
    expect(existsSync(lockFile())).toBe(false);
    acquireDataDirLock(dir)();
  });

  it('refuses a directory held by another live process', () => {
    // The parent of this process is alive and is not us; its start time is read from /proc.
    const start = readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
    writeFileSync(lockFile(), JSON.stringify({ pid: process.ppid, start }));
    expect(() => acquireDataDirLock(dir)).toThrow(
      new RegExp(`in use by another modelgate process \\(pid ${process.ppid}\\)`),
    );
  });

  it('takes over a lock left by a dead process', () => {
    writeFileSync(lockFile(), JSON.stringify({ pid: 2 ** 22 + 12345, start: '1' }));
    acquireDataDirLock(dir)();
  });

  it('takes over a lock whose pid was reused (a container restart runs as the same pid)', () => {
    // Our own pid, but written by an earlier process: this process does not hold the directory.
    writeFileSync(lockFile(), JSON.stringify({ pid: process.pid, start: 'earlier' }));
    acquireDataDirLock(dir)();
    // A live pid with another start time is a different process than the one that wrote the lock.
    writeFileSync(lockFile(), JSON.stringify({ pid: process.ppid, start: 'earlier' }));
    acquireDataDirLock(dir)();
  });

  it('takes over an unreadable lock file', () => {
    writeFileSync(lockFile(), '{half');
    acquireDataDirLock(dir)();
  });
});
