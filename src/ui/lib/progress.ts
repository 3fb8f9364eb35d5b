import { useEffect, useState } from 'react';

export interface ProgressEvent {
  id: string;
  status: string;
  progress: number;
  itemsDone: number;
  total: number;
  etaSeconds: number | null;
  verdict: string | null;
}

/**
 * A running comparison's progress from GET /comparisons/<id>/events: the browser's own EventSource
 * sends the session cookie. `onDone` runs once when the stream reports the end.
 */
export function useProgress(id: string, active: boolean, onDone: () => void): ProgressEvent | null {
  const [last, setLast] = useState<ProgressEvent | null>(null);
  useEffect(() => {
    if (!active) return;
    const source = new EventSource(`/comparisons/${encodeURIComponent(id)}/events`);
    const read = (e: MessageEvent) => setLast(JSON.parse(e.data as string) as ProgressEvent);
    source.addEventListener('progress', read);
    source.addEventListener('done', (e) => {
      read(e);
      source.close();
      onDone();
    });
    // A refused or ended stream: stop, and let the page's query show the state (it refetches on done).
    source.addEventListener('error', () => {
      source.close();
      onDone();
    });
    return () => source.close();
  }, [id, active]);
  return last;
}
