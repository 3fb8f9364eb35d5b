/**
 * What a benchmark leaves behind is removed when it exits, however it exits: normally, on an
 * uncaught error, or on SIGINT/SIGTERM (Ctrl-C). Tasks run synchronously in the 'exit' handler,
 * newest first; each also runs (and is forgotten) when the bench removes it itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const tasks = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const task of [...tasks].reverse()) {
    tasks.delete(task);
    try {
      task();
    } catch {
      // best effort: the next task still runs
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: cleaning up and exiting\n`);
      process.exit(130);
    });
  }
}

/** Registers a synchronous task for exit; the returned function runs it now (once) instead. */
export function atExit(task: () => void): () => void {
  install();
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    tasks.delete(once);
    task();
  };
  tasks.add(once);
  return once;
}

/** A fresh temporary directory, deleted at exit; `remove()` deletes it earlier. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const remove = atExit(() => rmSync(dir, { recursive: true, force: true }));
  return { path: dir, remove };
}
