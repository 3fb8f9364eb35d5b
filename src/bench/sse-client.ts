/**
 * A client of GET /comparisons/<id>/events (server-sent events): reads one stream to its end and
 * says how it ended: a `done` event, an `error` event with a code, an HTTP refusal, the server
 * closing it, or the bench aborting it.
 */

export interface StreamEnd {
  /** "done", "error:<CODE>" (an error event), "http:<status>:<CODE>" (refused), "closed", "aborted", "network". */
  ending: string;
  events: number;
  progressEvents: number;
  /** Longest wait between two events of the stream, ms. */
  maxGapMs: number;
  /** Epoch ms when the stream ended. */
  endedAt: number;
}

const epochNow = () => performance.timeOrigin + performance.now();

function parseEvent(block: string): { event: string; data: string } {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trim());
  }
  return { event, data: data.join('\n') };
}

function codeOf(data: string): string {
  try {
    const j = JSON.parse(data) as { code?: string; errors?: { extensions?: { code?: string } }[] };
    return j.code ?? j.errors?.[0]?.extensions?.code ?? 'UNKNOWN';
  } catch {
    return 'UNKNOWN';
  }
}

/** Follows one comparison's event stream until it ends or `signal` aborts. */
export async function followStream(base: string, key: string, id: string, signal: AbortSignal): Promise<StreamEnd> {
  const end: StreamEnd = { ending: 'closed', events: 0, progressEvents: 0, maxGapMs: 0, endedAt: 0 };
  let last = performance.now();
  try {
    const res = await fetch(`${base}/comparisons/${id}/events`, {
      headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
      signal,
    });
    if (res.status !== 200 || !res.body) {
      end.ending = `http:${res.status}:${codeOf(await res.text())}`;
      return end;
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const { event, data } = parseEvent(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        const now = performance.now();
        end.maxGapMs = Math.max(end.maxGapMs, now - last);
        last = now;
        end.events++;
        if (event === 'progress') end.progressEvents++;
        else if (event === 'done') end.ending = 'done';
        else if (event === 'error') end.ending = `error:${codeOf(data)}`;
      }
    }
  } catch {
    end.ending = signal.aborted ? 'aborted' : 'network';
  } finally {
    end.endedAt = epochNow();
  }
  return end;
}
