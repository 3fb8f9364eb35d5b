/**
 * A gateway process for `npm run bench:inference` part 2, forked by inference.ts: the app, its
 * background workers and the HTTP server built as `modelgate serve` builds them, in a process of its
 * own (the bench process holds its own sessions, apps and client threads, whose garbage collection
 * and CPU would be charged to the gateway). An IPC channel reports the gateway thread's event-loop
 * delay, utilization and GC pauses over a window, and, for the contrasts, runs onnxruntime on this
 * thread: with BENCH_MAIN_THREAD_BACKEND=1 the app serves through MainThreadBackend, and
 * { type: 'start', mainLoop } loops session.run() here while the window lasts.
 *
 * Configuration comes from the environment, as for `modelgate serve`.
 */
import 'reflect-metadata';
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { createApp } from '../app';
import { createLogger } from '../common/logger';
import { loadConfig } from '../config/config';
import { startServer } from '../http/server';
import { MainThreadBackend, sessionOptions } from './main-thread-backend';

export type ChildRequest =
  | { type: 'start'; mainLoop?: { file: string; feeds: Float32Array; dims: number[] } }
  | { type: 'stop' }
  | { type: 'exit' };

export type ChildMessage =
  | { type: 'ready'; port: number }
  | {
      type: 'stats';
      loopDelay: { p50: number; p99: number; max: number };
      elu: number;
      gc: number[];
      majorGc: number;
      mainRuns: number | null;
    }
  | { type: 'error'; message: string };

const send = (m: ChildMessage) => process.send!(m);

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger('warn', { bench: 'gateway-child' }, 2);
  const backend = process.env.BENCH_MAIN_THREAD_BACKEND === '1' ? new MainThreadBackend() : undefined;
  const app = await createApp(config, { logger, ...(backend ? { backend } : {}) });
  app.startWorkers();
  const server = await startServer(app, { port: 0, host: '127.0.0.1' });

  let window: { stop: () => Promise<ChildMessage> } | null = null;
  process.on('message', (m: ChildRequest) => {
    void (async () => {
      if (m.type === 'start') {
        const h = monitorEventLoopDelay({ resolution: 5 });
        const gc: number[] = [];
        let majorGc = 0;
        const observer = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) {
            gc.push(e.duration);
            if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
              majorGc++;
          }
        });
        observer.observe({ entryTypes: ['gc'] });
        let stopLoop = false;
        let mainRuns = 0;
        const loop = m.mainLoop
          ? (async () => {
              const { file, feeds, dims } = m.mainLoop!;
              const session = await InferenceSession.create(
                file,
                sessionOptions({
                  intraOpNumThreads: config.inference.intraOpThreads,
                  disableQuantQdq: true,
                  allowSpinning: config.inference.spinning,
                }),
              );
              const input = session.inputNames[0]!;
              while (!stopLoop) {
                await session.run({ [input]: new Tensor('float32', feeds, dims) });
                mainRuns++;
                // Let I/O in between runs, as a server handling requests one after the other would.
                await new Promise((r) => setImmediate(r));
              }
              await session.release();
            })()
          : null;
        h.enable();
        const elu0 = performance.eventLoopUtilization();
        window = {
          stop: async () => {
            const elu = performance.eventLoopUtilization(elu0).utilization;
            h.disable();
            observer.disconnect();
            stopLoop = true;
            await loop;
            return {
              type: 'stats',
              loopDelay: { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 },
              elu,
              gc,
              majorGc,
              mainRuns: loop ? mainRuns : null,
            };
          },
        };
      } else if (m.type === 'stop' && window) {
        const w = window;
        window = null;
        send(await w.stop());
      } else if (m.type === 'exit') {
        await server.close();
        await app.close();
        process.exit(0);
      }
    })().catch((e: Error) => send({ type: 'error', message: e.message }));
  });
  send({ type: 'ready', port: server.port });
}

main().catch((e: Error) => {
  process.stderr.write(`gateway-child: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
