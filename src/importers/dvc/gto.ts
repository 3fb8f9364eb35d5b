import { parseGtoTag, type GitTag } from './git';

/** What GTO's registry says of one artifact at one commit. */
export interface GtoCommitState {
  /** The registered (not deregistered) version tagged on the commit, e.g. `v1.2.0`. */
  version: string | null;
  /** The stages whose current version is the one on this commit. */
  stages: string[];
}

interface StageEvent {
  commit: string;
  stage: string;
  assign: boolean;
  order: number;
}

/**
 * GTO's registry state, derived as `gto show` derives it from all of a repository's tags:
 * - `name@vX.Y.Z` registers the commit as a version, `name@vX.Y.Z!` deregisters it;
 * - `name#stage#N` assigns a stage to the commit's version, `name#stage!#N` unassigns it; N is the
 *   artifact's event counter, so events are ordered by N (then by tag date);
 * - a stage's current version is the most recently assigned one that is still assigned and not
 *   deregistered (GTO's default of one version per stage). An unassignment therefore hands the stage
 *   back to the previous holder, if that one still has it.
 */
export class GtoRegistry {
  private readonly versions = new Map<string, Map<string, { version: string; active: boolean; created: number }[]>>();
  private readonly events = new Map<string, StageEvent[]>();

  constructor(tags: GitTag[]) {
    for (const tag of tags) {
      const parsed = parseGtoTag(tag.name);
      if (!parsed) continue;
      if (parsed.kind === 'version') {
        const byCommit = this.versions.get(parsed.artifact) ?? new Map();
        const list = byCommit.get(tag.commit) ?? [];
        const existing = list.find((v: { version: string }) => v.version === parsed.value);
        if (existing) existing.active &&= !parsed.negated;
        else list.push({ version: parsed.value, active: !parsed.negated, created: tag.created });
        byCommit.set(tag.commit, list);
        this.versions.set(parsed.artifact, byCommit);
      } else {
        const list = this.events.get(parsed.artifact) ?? [];
        // The counter orders events; tag dates only break ties between equal counters.
        list.push({
          commit: tag.commit,
          stage: parsed.value,
          assign: !parsed.negated,
          order: (parsed.counter ?? 0) * 1e10 + tag.created,
        });
        this.events.set(parsed.artifact, list);
      }
    }
  }

  private registered(artifact: string, commit: string) {
    return this.versions.get(artifact)?.get(commit) ?? [];
  }

  /** Stage name → the commit currently holding it. */
  stages(artifact: string): Map<string, string> {
    const latest = new Map<string, StageEvent>(); // per (stage, commit): its last event
    for (const e of [...(this.events.get(artifact) ?? [])].sort((a, b) => a.order - b.order))
      latest.set(`${e.stage}\u0000${e.commit}`, e);
    const holder = new Map<string, StageEvent>();
    for (const e of latest.values()) {
      if (!e.assign) continue;
      const versions = this.registered(artifact, e.commit);
      // A commit whose every version tag is deregistered is out of the registry.
      if (versions.length > 0 && versions.every((v) => !v.active)) continue;
      const current = holder.get(e.stage);
      if (!current || e.order > current.order) holder.set(e.stage, e);
    }
    return new Map([...holder].map(([stage, e]) => [stage, e.commit]));
  }

  /** The artifact (`name`, or `dir:name` for a dvc.yaml in a subfolder) as seen at `commit`. */
  at(artifact: string, commit: string): GtoCommitState {
    const active = this.registered(artifact, commit).filter((v) => v.active);
    const version = active.sort((a, b) => b.created - a.created)[0]?.version ?? null;
    const stages = [...this.stages(artifact)]
      .filter(([, c]) => c === commit)
      .map(([s]) => s)
      .sort();
    return { version, stages };
  }
}
