/**
 * Reads an SSE response as text: `readUntil(pattern)` reads until what came so far matches (or the
 * stream ends) and returns all of it; `readUntil(/$^/)` reads to the end.
 */
export function sseText(res: Response): (pattern: RegExp) => Promise<string> {
  const reader = res.body!.getReader();
  let text = '';
  return async (pattern) => {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    return text;
  };
}
