import { badInput } from '../../common/errors';
import { fields } from '../parsed';
import { isSafeRelative } from './objects';

/** More classes than any image classifier has: a numeric label past it is a mistake, not a class. */
export const MAX_CLASSES = 100_000;

export interface LabeledFile {
  relpath: string;
  label: number;
}

/** A labels-file entry that is not read: its path leads outside the dataset. */
export interface SkippedLabel {
  relpath: string;
  reason: string;
}

/** Splits one CSV line (RFC 4180 quoting). */
function csvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells.map((c) => c.trim());
}

/**
 * Labels of a dataset directory. Three layouts are read:
 * - a CSV labels file with a header naming the file column (`path`, `file`, `filename` or `image`)
 *   and the label column (`label`, `class` or `target`); a label is a class index or a class name;
 * - a JSON labels file: `[{"path": ..., "label": ...}]` or `{"<path>": <label>}`;
 * - no labels file: images in class-named subfolders (`<class>/<file>`).
 * Class names come from `classes` when given (dvc.yaml meta.labels), else from a `class` column,
 * else from the sorted subfolder names.
 */
export function readLabels(
  files: string[],
  labelsFile: { name: string; text: string } | null,
  classes: string[] | null,
): { labels: string[]; items: LabeledFile[]; skipped: SkippedLabel[] } {
  const listed: { relpath: string; label: string }[] = [];
  const named = new Map<number, string>();
  if (labelsFile) {
    if (/\.json$/i.test(labelsFile.name)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(labelsFile.text);
      } catch (e) {
        throw badInput(`${labelsFile.name} is not valid JSON: ${(e as Error).message}`);
      }
      if (parsed === null || typeof parsed !== 'object')
        throw badInput(`${labelsFile.name} must be a JSON list or object`);
      const entries: [string, unknown][] = Array.isArray(parsed)
        ? parsed.map((entry: unknown): [string, unknown] => {
            const e = fields(entry);
            return [String(e.path ?? e.file ?? ''), e.label ?? e.class];
          })
        : Object.entries(parsed);
      for (const [relpath, label] of entries) listed.push({ relpath, label: String(label) });
    } else {
      const lines = labelsFile.text.split(/\r?\n/).filter((l) => l.trim() !== '');
      const header = csvLine(lines[0] ?? '').map((h) => h.toLowerCase());
      const fileCol = header.findIndex((h) => ['path', 'file', 'filename', 'image'].includes(h));
      const labelCol = header.findIndex((h) => ['label', 'class', 'target'].includes(h));
      const classCol = header.indexOf('class');
      if (fileCol < 0 || labelCol < 0)
        throw badInput(`${labelsFile.name}: the header must name a file column (path) and a label column (label)`);
      for (const line of lines.slice(1)) {
        const cells = csvLine(line);
        listed.push({ relpath: cells[fileCol] ?? '', label: cells[labelCol] ?? '' });
        if (classCol >= 0 && classCol !== labelCol && /^\d+$/.test(cells[labelCol]!))
          named.set(Number(cells[labelCol]), cells[classCol]!);
      }
    }
  } else {
    for (const f of files) {
      const slash = f.indexOf('/');
      if (slash < 0)
        throw badInput(`${f} is not in a class folder, and the dataset has no labels file (meta.labelsFile)`);
      listed.push({ relpath: f, label: f.slice(0, slash) });
    }
  }
  // A path leading out of the dataset (`../x.png`, `/etc/passwd`) is reported, never looked up.
  const skipped = listed
    .filter((p) => !isSafeRelative(p.relpath))
    .map((p) => ({ relpath: p.relpath, reason: 'the path leads outside the dataset: not read' }));
  const pairs = listed.filter((p) => isSafeRelative(p.relpath));
  const numeric = pairs.every((p) => /^\d+$/.test(p.label));
  const labels = classes ?? (numeric ? numberedClasses(pairs, named) : [...new Set(pairs.map((p) => p.label))].sort());
  if (labels.length > MAX_CLASSES) throw badInput(`${labels.length} classes: more than MAX_CLASSES (${MAX_CLASSES})`);
  const index = new Map(labels.map((l, i) => [l, i]));
  const present = new Set(files);
  const items = pairs.map(({ relpath, label }) => {
    const i = numeric ? Number(label) : index.get(label);
    if (i === undefined || i < 0 || i >= labels.length)
      throw badInput(`${relpath}: label "${label}" is not one of the ${labels.length} classes`);
    if (!present.has(relpath)) throw badInput(`${relpath} is listed in the labels file but not in the dataset`);
    return { relpath, label: i };
  });
  return { labels, items, skipped };
}

/** Classes 0..max of numeric labels, named from a `class` column when it has them. */
function numberedClasses(pairs: { relpath: string; label: string }[], named: Map<number, string>): string[] {
  let max = -1;
  for (const p of pairs) {
    const i = Number(p.label);
    // Checked before anything is allocated: one label "1000000000" must not make a billion classes.
    if (i >= MAX_CLASSES) throw badInput(`${p.relpath}: class index ${p.label} is beyond MAX_CLASSES (${MAX_CLASSES})`);
    if (i > max) max = i;
  }
  return Array.from({ length: max + 1 }, (_, i) => named.get(i) ?? String(i));
}
