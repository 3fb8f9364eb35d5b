import type { Actor } from '../auth/actor';
import { DomainError, ErrorCode } from '../common/errors';
import type { AliasService } from '../registry/alias.service';
import type { VersionService } from '../registry/version.service';
import type { ReportBuilder } from './report';

/**
 * Applies the aliases a source (DVC meta/GTO stages, MLflow) gives a version, following upstream
 * changes only: an alias the source newly assigned moves here; one it already had at the last
 * import is left where an operator may have moved it since; a missing alias is created.
 */
export async function applyUpstreamAliases(
  deps: { aliases: AliasService; versions: VersionService },
  actor: Actor,
  target: { model: string; version: number },
  upstream: string[],
  previous: string[],
  report: ReportBuilder,
  dryRun: boolean,
): Promise<void> {
  for (const alias of [...new Set(upstream)]) {
    const name = `${target.model}@${alias}`;
    let current: number | null = null;
    try {
      current = (await deps.versions.resolve(actor, { model: target.model, alias })).version.version;
    } catch (e) {
      if (!(e instanceof DomainError && e.code === ErrorCode.NOT_FOUND)) throw e;
    }
    if (current === target.version) {
      report.add({ kind: 'alias', name, version: target.version, action: 'unchanged' });
      continue;
    }
    if (current !== null && previous.includes(alias)) {
      report.add({
        kind: 'alias',
        name,
        version: current,
        action: 'unchanged',
        reason: `left on v${current}: moved here since the last import, unchanged upstream`,
      });
      continue;
    }
    if (dryRun) {
      report.add({ kind: 'alias', name, version: target.version, action: 'would-update' });
      continue;
    }
    try {
      await deps.aliases.set(actor, target.model, alias, target.version);
      report.add({
        kind: 'alias',
        name,
        version: target.version,
        action: 'updated',
        reason: current === null ? null : `moved from v${current}`,
      });
    } catch (e) {
      report.fail({ kind: 'alias', name, version: target.version }, e);
    }
  }
}
