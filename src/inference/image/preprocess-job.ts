import { DomainError } from '../../common/errors';
import type { InputSpec } from '../../registry/input-spec';
import type { ImageLimits } from './decode';
import { loadPngDecoder } from './png';
import { preprocess, type Preprocessed } from './preprocess';

export interface PreprocessRequest {
  id: number;
  bytes: Uint8Array;
  spec: InputSpec;
  limits: ImageLimits;
}

export type PreprocessReply =
  | ({ id: number; ok: true } & Pick<Preprocessed, 'data' | 'dims' | 'timings' | 'source'>)
  | { id: number; ok: false; error: { code: string; message: string; details?: Record<string, unknown> } };

/** One image, on a preprocessing thread; refusals travel back as their code and message. */
export async function runJob(msg: PreprocessRequest): Promise<PreprocessReply> {
  try {
    await loadPngDecoder();
    const bytes = Buffer.from(msg.bytes.buffer, msg.bytes.byteOffset, msg.bytes.byteLength);
    const { data, dims, timings, source } = await preprocess(bytes, msg.spec, msg.limits);
    return { id: msg.id, ok: true, data, dims, timings, source };
  } catch (e) {
    if (e instanceof DomainError)
      return {
        id: msg.id,
        ok: false,
        error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) },
      };
    return {
      id: msg.id,
      ok: false,
      error: { code: 'INTERNAL_SERVER_ERROR', message: `preprocessing failed: ${(e as Error)?.message ?? String(e)}` },
    };
  }
}
