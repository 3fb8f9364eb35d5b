import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { OnnxBackend } from '../../src/inference/onnx-backend';

/**
 * An Open Inference Protocol v2 protocol double: no Triton or KServe server can be installed here,
 * so tests run the gateway against this small node:http server, which implements the spec's REST
 * endpoints (kserve/open-inference-protocol inference_rest.md) and Triton's binary tensor data
 * extension (triton-inference-server/server docs/protocol/extension_binary_data.md) over real
 * onnxruntime sessions (the repository's own worker-thread runtime) of real ONNX files.
 *
 * Knobs inject the failures a remote engine has: error statuses, slow answers (timeouts), closed
 * sockets, a server that is not ready.
 */
export interface OipDouble {
  url: string;
  /** Infer requests run, by how their input came (binary extension or JSON). */
  readonly received: { binary: number; json: number };
  /** Infer requests that arrived, faulted ones included. */
  readonly arrivals: number;
  /** Answers of the next `count` infer requests: an HTTP status with a JSON error, a delay, or a closed socket. */
  inject(fault: Fault, count?: number): void;
  /** Removes every injected fault. */
  heal(): void;
  /** What GET /v2/health/ready answers. */
  ready: boolean;
  close(): Promise<void>;
}

export type Fault = { status: number } | { delayMs: number } | { drop: true };

interface Served {
  file: string;
  /** Versions the model answers to (besides the unversioned path). */
  versions: string[];
}

const DATATYPE: Record<string, string> = { float32: 'FP32', float64: 'FP64', int64: 'INT64', int32: 'INT32' };
const dim = (d: number | string) => (typeof d === 'number' && d >= 0 ? d : -1);

export async function startOipDouble(models: Record<string, Served>): Promise<OipDouble> {
  const backend = new OnnxBackend(1, pino({ level: 'silent' }));
  const metadata = new Map<string, { inputs: object[]; outputs: object[]; outputNames: string[] }>();
  for (const [name, served] of Object.entries(models)) {
    const sig = await backend.inspect(served.file);
    await backend.load(name, served.file, {
      providers: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      disableQuantQdq: false,
      allowSpinning: false,
    });
    const tensor = (t: { name: string; type: string | null; shape: (number | string)[] }) => ({
      name: t.name,
      datatype: DATATYPE[t.type ?? ''] ?? 'BYTES',
      shape: t.shape.map(dim),
    });
    metadata.set(name, {
      inputs: sig.inputs.map(tensor),
      outputs: sig.outputs.map(tensor),
      outputNames: sig.outputs.map((o) => o.name),
    });
  }

  const faults: Fault[] = [];
  const received = { binary: 0, json: 0 };

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  async function infer(name: string, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
    const headerLength = req.headers['inference-header-content-length'];
    const jsonEnd = headerLength === undefined ? body.length : Number(headerLength);
    const request = JSON.parse(body.subarray(0, jsonEnd).toString('utf8')) as {
      inputs: {
        name: string;
        shape: number[];
        datatype: string;
        parameters?: Record<string, unknown>;
        data?: unknown;
      }[];
      outputs?: { name: string; parameters?: Record<string, unknown> }[];
      parameters?: Record<string, unknown>;
    };
    const input = request.inputs[0];
    if (request.inputs.length !== 1 || !input || input.datatype !== 'FP32')
      return send(res, 400, { error: 'this double serves one FP32 input' });
    let data: Float32Array;
    const size = input.parameters?.binary_data_size;
    if (typeof size === 'number') {
      received.binary++;
      const bytes = body.subarray(jsonEnd, jsonEnd + size);
      // A copy: the request's bytes need not be 4-byte aligned.
      data = new Float32Array(new Uint8Array(bytes).buffer);
    } else {
      received.json++;
      data = Float32Array.from((input.data as number[]).flat(Infinity as 1) as number[]);
    }
    const meta = metadata.get(name)!;
    const wanted = request.outputs?.map((o) => o.name) ?? meta.outputNames;
    const unknown = wanted.filter((n) => !meta.outputNames.includes(n));
    if (unknown.length) return send(res, 400, { error: `unknown output(s) ${unknown.join(', ')}` });
    let result;
    try {
      result = await backend.runOutputs(name, { name: input.name, data, dims: input.shape }, wanted);
    } catch (e) {
      return send(res, 400, { error: (e as Error).message });
    }
    const binaryOut = (n: string) => {
      const asked = request.outputs?.find((o) => o.name === n)?.parameters?.binary_data;
      return asked === undefined ? request.parameters?.binary_data_output === true : asked === true;
    };
    const parts: Buffer[] = [];
    const outputs = wanted.map((n) => {
      const t = result.outputs[n]!;
      const base = { name: n, shape: t.dims, datatype: 'FP32' };
      if (!binaryOut(n)) return { ...base, data: Array.from(t.data) };
      const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      parts.push(bytes);
      return { ...base, parameters: { binary_data_size: bytes.length } };
    });
    const header = Buffer.from(JSON.stringify({ model_name: name, outputs }));
    if (!parts.length) return send(res, 200, JSON.parse(header.toString()));
    const all = Buffer.concat([header, ...parts]);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
      'content-length': all.length,
    });
    res.end(all);
  }

  let arrivals = 0;
  const double = {
    url: '',
    received,
    get arrivals() {
      return arrivals;
    },
    ready: true,
    inject(fault: Fault, count = 1) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    heal() {
      faults.length = 0;
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await backend.close();
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const path = new URL(req.url ?? '/', 'http://double').pathname;
        if (req.method === 'GET' && path === '/v2/health/live') return send(res, 200, { live: true });
        if (req.method === 'GET' && path === '/v2/health/ready')
          return double.ready ? send(res, 200, { ready: true }) : send(res, 400, { error: 'not ready' });
        const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/.exec(path);
        const name = m ? decodeURIComponent(m[1]!) : '';
        const served = models[name];
        if (!m || !served || (m[2] !== undefined && !served.versions.includes(decodeURIComponent(m[2]))))
          return send(res, 404, { error: `no model at ${path}` });
        if (req.method === 'GET' && m[3] === undefined) {
          const meta = metadata.get(name)!;
          return send(res, 200, {
            name,
            versions: served.versions,
            platform: 'onnxruntime_onnx',
            inputs: meta.inputs,
            outputs: meta.outputs,
          });
        }
        if (req.method === 'GET' && m[3] === '/ready') return send(res, 200, { name, ready: true });
        if (req.method === 'POST' && m[3] === '/infer') {
          arrivals++;
          const fault = faults.shift();
          if (fault && 'drop' in fault) return req.socket.destroy();
          if (fault && 'status' in fault) return send(res, fault.status, { error: `injected ${fault.status}` });
          if (fault && 'delayMs' in fault) await new Promise((r) => setTimeout(r, fault.delayMs));
          return infer(name, req, body, res);
        }
        return send(res, 405, { error: `${req.method} ${path} is not an endpoint` });
      })().catch((e: Error) => {
        if (!res.headersSent) send(res, 500, { error: e.message });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  double.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return double;
}
