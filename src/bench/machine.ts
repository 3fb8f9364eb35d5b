/**
 * The machine a benchmark runs on and what its processes use, from /proc (Linux): CPU model,
 * cores and versions for the record; load from other processes; a process's resident memory,
 * open file descriptors and CPU time.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

const ROOT = path.resolve(__dirname, '..', '..');
/** USER_HZ on Linux: /proc/stat and /proc/<pid>/stat count CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '?';
  }
}

/** Two lines: CPU model with its vector extensions, cores and RAM; Node, onnxruntime, sharp and kernel versions. */
export function machine(): string[] {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = /^flags\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  const isa = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8'].filter((f) => flags.includes(f));
  const cores = os.availableParallelism();
  const ram = Math.round(os.totalmem() / 2 ** 30);
  const sharpVersions = `sharp ${packageVersion('sharp')} (libvips ${sharp.versions.vips})`;
  return [
    `CPU: ${model} (${isa.join(', ') || 'no AVX2/AVX-512 flags'}), ${cores} cores available, ${ram} GiB RAM`,
    `Node ${process.version}, onnxruntime-node ${packageVersion('onnxruntime-node')}, ${sharpVersions}, ${os.type()} ${os.release()}`,
  ];
}

/** The commit the bench runs at, "+ uncommitted changes" when the work tree differs. */
export function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

export const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Fields of /proc/<pid>/stat after the command name (state is [0], utime [11], stime [12], cutime [13], cstime [14]). */
function statFields(pid: number | 'self'): number[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
  } catch {
    return null;
  }
}

/** CPU time of a process (all its threads), in clock ticks; NaN once it is gone. */
export function processTicks(pid: number): number {
  const f = statFields(pid);
  return f ? f[11]! + f[12]! : NaN;
}

/** CPU time of one thread of a process (`tid` = `pid`: its main thread), in clock ticks; NaN once it is gone. */
/**
 * CPU time of a process's threads grouped by thread name (`comm`: "node" for the main thread, worker
 * threads, libuv's pool, V8's helpers), in clock ticks. Threads that ended meanwhile are not counted.
 */
export function ticksByThreadName(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const name = Number(tid) === pid ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const ticks = threadTicks(pid, Number(tid));
      if (Number.isFinite(ticks)) out.set(name, (out.get(name) ?? 0) + ticks);
    } catch {
      // the thread ended
    }
  }
  return out;
}

export function threadTicks(pid: number, tid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return f[11]! + f[12]!;
  } catch {
    return NaN;
  }
}

/** Busy CPU time of the whole machine and of this process (its threads and reaped children), in clock ticks. */
function cpuTicks(): { total: number; self: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    const total = cpu.slice(0, 8).reduce((s, x, i) => (i === 3 || i === 4 ? s : s + x), 0);
    const f = statFields('self');
    if (!f) return null;
    return { total, self: f[11]! + f[12]! + f[13]! + f[14]! };
  } catch {
    return null;
  }
}

/**
 * Starts counting; the returned function tells how many cores processes other than this one (and
 * the live processes `ours` names, e.g. a gateway child) kept busy meanwhile, on average.
 */
export function otherLoad(ours: () => number[] = () => []): () => string {
  const t0 = performance.now();
  const a = cpuTicks();
  const oursA = ours().map(processTicks);
  return () => {
    const b = cpuTicks();
    const oursB = ours().map(processTicks);
    if (!a || !b) return 'unknown';
    const seconds = (performance.now() - t0) / 1000;
    const children = oursB.reduce(
      (s, x, i) => s + (Number.isFinite(x) && Number.isFinite(oursA[i]!) ? x - oursA[i]! : 0),
      0,
    );
    const other = Math.max(0, (b.total - a.total - (b.self - a.self) - children) / TICKS_PER_SECOND / seconds);
    return `${other.toFixed(2)} cores`;
  };
}

/** CPU time in seconds from clock ticks. */
export const ticksToSeconds = (ticks: number) => ticks / TICKS_PER_SECOND;

/** VmRSS of a process in MiB; NaN once it is gone. */
export function vmRssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Threads of a process (the Threads: line of /proc/<pid>/status); NaN once it is gone. */
export function threadCount(pid: number): number {
  try {
    const m = /^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Open file descriptors of a process (entries of /proc/<pid>/fd); NaN once it is gone. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}
