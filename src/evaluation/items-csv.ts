/**
 * A comparison's per-item results as CSV (RFC 4180: CRLF line ends, fields with a comma, quote or
 * line break quoted, quotes doubled). Paths and labels are user data: a text cell starting with
 * = + - @ (or a tab or carriage return) gets a leading ' so that a spreadsheet shows it as text
 * instead of running it as a formula (OWASP's "CSV injection" advice).
 */

/** One evaluated item: what GET /comparisons/<id>/items.csv lists, one row each. */
export interface ItemResult {
  ordinal: number;
  path: string;
  label: string;
  baselineLabel: string;
  baselineProbability: number;
  candidateLabel: string;
  candidateProbability: number;
  agree: boolean;
  baselineCorrect: boolean;
  candidateCorrect: boolean;
  baselineMs: number;
  candidateMs: number;
}

/** The columns, in order: named as the GraphQL ComparisonItem's fields where they match. */
export const ITEM_CSV_COLUMNS: readonly (keyof ItemResult)[] = [
  'ordinal',
  'path',
  'label',
  'baselineLabel',
  'baselineProbability',
  'candidateLabel',
  'candidateProbability',
  'agree',
  'baselineCorrect',
  'candidateCorrect',
  'baselineMs',
  'candidateMs',
];

const FORMULA_START = /^[=+\-@\t\r]/;

/** One field: text neutralised against formulas, then quoted if it needs to be. Numbers and booleans as JavaScript writes them. */
export function csvField(value: string | number | boolean): string {
  if (typeof value !== 'string') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const ITEM_CSV_HEADER = `${ITEM_CSV_COLUMNS.join(',')}\r\n`;

/** Rows for a page of items, each ending in CRLF. */
export const itemCsvRows = (items: readonly ItemResult[]): string =>
  items.map((item) => `${ITEM_CSV_COLUMNS.map((c) => csvField(item[c])).join(',')}\r\n`).join('');
