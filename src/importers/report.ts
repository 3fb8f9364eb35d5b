import { DomainError } from '../common/errors';

/** What an import did, item by item (the GraphQL ImportReport of API-SKETCH). */
/** `skipped`: seen and deliberately not imported (counted in none of the totals). */
export type ImportAction = 'created' | 'updated' | 'unchanged' | 'failed' | 'would-create' | 'would-update' | 'linked' | 'skipped';

export interface ImportItem {
  kind: 'model' | 'version' | 'alias' | 'dataset' | 'experiment' | 'run' | 'registered-model' | 'artifact';
  name: string;
  version?: number | null;
  action: ImportAction;
  reason?: string | null;
}

export interface ImportReport {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  items: ImportItem[];
}

/** A failed item's reason: a domain error says what went wrong; anything else is unexpected. */
export function failureReason(e: unknown): string {
  return e instanceof DomainError ? e.message : `unexpected error: ${(e as Error)?.message ?? String(e)}`;
}

/** The action to report: in a dry run, what would be done. */
export function planned(action: 'created' | 'updated' | 'unchanged', dryRun: boolean): ImportAction {
  if (!dryRun || action === 'unchanged') return action;
  return action === 'created' ? 'would-create' : 'would-update';
}

export class ReportBuilder {
  readonly items: ImportItem[] = [];

  add(item: ImportItem): ImportItem {
    this.items.push(item);
    return item;
  }

  build(): ImportReport {
    const count = (...actions: ImportAction[]) => this.items.filter((i) => actions.includes(i.action)).length;
    return {
      created: count('created', 'would-create'),
      updated: count('updated', 'would-update', 'linked'),
      unchanged: count('unchanged'),
      failed: count('failed'),
      items: this.items,
    };
  }
}
