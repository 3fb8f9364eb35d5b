/** Reads the HTML report's charts back: what a reviewer sees, as numbers a test can compare with the API's. */

/** The <svg> of one chart kind (data-chart="..."), or throws. */
export function chart(html: string, kind: string): string {
  const m = new RegExp(`<svg[^>]*data-chart="${kind}"[\\s\\S]*?</svg>`).exec(html);
  if (!m) throw new Error(`no chart "${kind}" in the report`);
  return m[0];
}

/** Every <svg> in the document, by its data-chart kind. */
export const chartKinds = (html: string): string[] =>
  [...html.matchAll(/<svg[^>]*data-chart="([^"]+)"/g)].map((m) => m[1]!);

/** A confusion matrix's cells as drawn: the text of each cell, by row and column ("−3" read as -3). */
export function matrixCells(svg: string): number[][] {
  const rows: number[][] = [];
  for (const m of svg.matchAll(/<text class="cell" data-row="(\d+)" data-col="(\d+)"[^>]*>([^<]*)<\/text>/g)) {
    (rows[Number(m[1])] ??= [])[Number(m[2])] = Number(m[3]!.replace('−', '-'));
  }
  return rows;
}

/** The gallery's images, decoded from their data: URIs. */
export const galleryImages = (html: string): Buffer[] =>
  [...html.matchAll(/<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64'));

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The data-* attributes of the elements with `class="<cls>"` in a chart. */
export function dataOf(svg: string, cls: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<g class="${cls}"([^>]*)>`, 'g'))].map((m) =>
    Object.fromEntries([...m[1]!.matchAll(/data-([a-z]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])),
  );
}
