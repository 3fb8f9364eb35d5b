import { badInput } from '../common/errors';
import { checkText } from '../common/text';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ALIAS = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/** Model and dataset names: safe in URLs, file names and CLI arguments. */
export function checkName(kind: 'model' | 'dataset', name: string): string {
  if (!NAME.test(name)) {
    throw badInput(
      `invalid ${kind} name "${name}": 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      { field: 'name' },
    );
  }
  return name;
}

/** Aliases start with a letter so they can never be mistaken for a version number. */
export function checkAlias(alias: string): string {
  if (!ALIAS.test(alias)) {
    throw badInput(`invalid alias "${alias}": 1-64 letters, digits, ".", "_" or "-", starting with a letter`, {
      field: 'alias',
    });
  }
  return alias;
}

export function checkLabels(labels: string[]): string[] {
  if (labels.length === 0) throw badInput('labels must list at least one class name', { field: 'labels' });
  const problems: string[] = [];
  const seen = new Set<string>();
  labels.forEach((l, i) => {
    checkText('labels', l, `label ${i}`);
    if (l.trim() === '') problems.push(`label ${i} is empty`);
    else if (seen.has(l)) problems.push(`label "${l}" appears twice`);
    seen.add(l);
  });
  if (problems.length) throw badInput(`invalid labels: ${problems.join('; ')}`, { field: 'labels' });
  return labels;
}

/** Free tags: a flat JSON object of string, number or boolean values. */
export function checkTags(tags: unknown): Record<string, string | number | boolean> {
  if (tags === undefined || tags === null) return {};
  if (typeof tags !== 'object' || Array.isArray(tags)) throw badInput('tags must be a JSON object', { field: 'tags' });
  for (const [k, v] of Object.entries(tags)) {
    checkText('tags', k, 'a tag name');
    if (typeof v === 'string') checkText('tags', v, `tag "${k}"`);
    if (!['string', 'number', 'boolean'].includes(typeof v)) {
      throw badInput(`tag "${k}" must be a string, number or boolean`, { field: 'tags' });
    }
  }
  return tags as Record<string, string | number | boolean>;
}
