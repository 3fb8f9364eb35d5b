import { DomainError } from '../common/errors';
import type { Logger } from '../common/logger';

/** What an import did, item by item (the GraphQL type ImportReport). */
/** `skipped`: seen and deliberately not imported (counted in none of the totals). */
export type ImportAction =
  'created' | 'updated' | 'unchanged' | 'failed' | 'would-create' | 'would-update' | 'linked' | 'skipped';

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
  skipped: number;
  items: ImportItem[];
}

/** What a report says of a failure that is not a domain error: its text may hold paths, SQL, or secrets. */
export const UNEXPECTED_FAILURE = 'INTERNAL_SERVER_ERROR: unexpected error (see the gateway log)';

/** A failed item's reason: a domain error's message is written for users; anything else is masked. */
export function failureReason(e: unknown): string {
  return e instanceof DomainError ? e.message : UNEXPECTED_FAILURE;
}

/** The action to report: in a dry run, what would be done. */
export function planned(action: 'created' | 'updated' | 'unchanged', dryRun: boolean): ImportAction {
  if (!dryRun || action === 'unchanged') return action;
  return action === 'created' ? 'would-create' : 'would-update';
}

export class ReportBuilder {
  readonly items: ImportItem[] = [];

  /** `context` (the importer, the source) goes into the log line of every unexpected failure. */
  constructor(
    private readonly logger: Logger,
    private readonly context: Record<string, unknown>,
  ) {}

  add(item: ImportItem): ImportItem {
    this.items.push(item);
    return item;
  }

  /** A failed item: the reason for the report, and the full error in the log when it is unexpected. */
  fail(item: Omit<ImportItem, 'action' | 'reason'>, e: unknown): ImportItem {
    if (!(e instanceof DomainError))
      this.logger.error({ err: e, ...this.context, item }, 'import item failed with an unexpected error');
    return this.add({ ...item, action: 'failed', reason: failureReason(e) });
  }

  build(): ImportReport {
    const count = (...actions: ImportAction[]) => this.items.filter((i) => actions.includes(i.action)).length;
    return {
      created: count('created', 'would-create'),
      updated: count('updated', 'would-update', 'linked'),
      unchanged: count('unchanged'),
      failed: count('failed'),
      skipped: count('skipped'),
      items: this.items,
    };
  }
}
