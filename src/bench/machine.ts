/** What a benchmark prints about the machine it ran on, and how busy the rest of it was. */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

const ROOT = path.resolve(__dirname, '..', '..');

export function machine(): string[] {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = /^flags\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  const isa = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8'].filter((f) => flags.includes(f));
  const pkg = (name: string) => {
    try {
      return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  return [
    `CPU: ${model} (${isa.join(', ') || 'no AVX2/AVX-512 flags'}), ${os.availableParallelism()} cores available, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`,
    `Node ${process.version}, onnxruntime-node ${pkg('onnxruntime-node')}, sharp ${pkg('sharp')} (libvips ${sharp.versions.vips}), ${os.type()} ${os.release()}`,
  ];
}

export const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Busy CPU time of the whole machine and of this process (its threads and reaped children), in clock ticks. */
export function cpuTicks(): { total: number; self: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    const total = cpu.slice(0, 8).reduce((s, x, i) => (i === 3 || i === 4 ? s : s + x), 0);
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // utime stime cutime cstime are fields 14-17, i.e. 11-14 after the command name.
    return { total, self: f[11]! + f[12]! + f[13]! + f[14]! };
  } catch {
    return null;
  }
}

/** Starts counting; the returned function tells how many cores other processes kept busy meanwhile, on average. */
export function otherLoad(): () => string {
  const t0 = performance.now();
  const a = cpuTicks();
  return () => {
    const b = cpuTicks();
    if (!a || !b) return 'unknown';
    const seconds = (performance.now() - t0) / 1000;
    const ticksPerSecond = 100; // USER_HZ on Linux
    const other = Math.max(0, (b.total - a.total - (b.self - a.self)) / ticksPerSecond / seconds);
    return `${other.toFixed(2)} cores`;
  };
}
