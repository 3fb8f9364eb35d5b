import { badInput, notFound } from '../common/errors';
import { requireRole, type Actor } from '../auth/actor';
import type { AliasRecord, AliasRepository } from './alias.repository';
import type { ModelService } from './model.service';
import { checkAlias } from './names';
import type { VersionRepository } from './version.repository';

export class AliasService {
  constructor(
    private readonly deps: {
      models: ModelService;
      versions: VersionRepository;
      aliases: AliasRepository;
      /** Aliases whose moves need admin (the baseline and what is served). */
      pinned: readonly string[];
    },
  ) {}

  /** Checks the role first (an anonymous caller learns nothing else), then the alias name. */
  private authorize(actor: Actor, alias: string, action: string): string {
    const pinned = this.deps.pinned.includes(alias);
    requireRole(
      actor,
      pinned ? 'admin' : 'operator',
      pinned ? `${action} the pinned alias "${alias}"` : `${action} an alias`,
    );
    return checkAlias(alias);
  }

  /** Points `alias` at a READY version of the same model; the move is recorded in the alias history. */
  async set(actor: Actor, modelName: string, alias: string, versionNumber: number): Promise<AliasRecord> {
    return (await this.setReporting(actor, modelName, alias, versionNumber)).alias;
  }

  /** Whether the actor may move this alias (FORBIDDEN/UNAUTHENTICATED otherwise). */
  checkMove(actor: Actor, alias: string): void {
    this.authorize(actor, alias, 'moving');
  }

  /** As `set`, also saying whether the alias moved (importers report it). */
  async setReporting(
    actor: Actor,
    modelName: string,
    alias: string,
    versionNumber: number,
    /** Recorded in the alias history when the move is not a person's own (an experiment's promotion). */
    reason: string | null = null,
  ): Promise<{ alias: AliasRecord; changed: boolean }> {
    this.authorize(actor, alias, 'moving');
    const model = await this.deps.models.require(modelName);
    const version = await this.deps.versions.findByNumber(model.id, versionNumber);
    if (!version)
      throw notFound(`model "${model.name}" has no version ${versionNumber}`, {
        model: model.name,
        version: versionNumber,
      });
    const notReady = (v: { status: string; statusReason: string | null }) =>
      badInput(
        `version ${versionNumber} of "${model.name}" is ${v.status}${v.statusReason ? ` (${v.statusReason})` : ''}: an alias can only point at a READY version`,
        {
          field: 'version',
          status: v.status,
        },
      );
    if (version.status !== 'READY') throw notReady(version);
    // The repository checks READY again under its lock, in case the version changed meanwhile.
    return this.deps.aliases.set(model.id, alias, version, actor.name, notReady, reason);
  }

  /** Returns false when the alias did not exist. */
  async remove(actor: Actor, modelName: string, alias: string): Promise<boolean> {
    this.authorize(actor, alias, 'removing');
    const model = await this.deps.models.require(modelName);
    return this.deps.aliases.remove(model.id, alias, actor.name);
  }
}
