import { badInput, notFound } from '../common/errors';
import { requireRole, type Actor } from '../auth/actor';
import type { AliasEventRecord, AliasRecord, AliasRepository } from './alias.repository';
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

  private requireRoleFor(actor: Actor, alias: string, action: string) {
    const pinned = this.deps.pinned.includes(alias);
    requireRole(actor, pinned ? 'admin' : 'operator', pinned ? `${action} the pinned alias "${alias}"` : `${action} an alias`);
  }

  /** Points `alias` at a READY version of the same model; the move is recorded in the alias history. */
  async set(actor: Actor, modelName: string, alias: string, versionNumber: number): Promise<AliasRecord> {
    this.requireRoleFor(actor, checkAlias(alias), 'moving');
    const model = await this.deps.models.require(modelName);
    const version = await this.deps.versions.findByNumber(model.id, versionNumber);
    if (!version) throw notFound(`model "${model.name}" has no version ${versionNumber}`, { model: model.name, version: versionNumber });
    if (version.status !== 'READY') {
      throw badInput(
        `version ${versionNumber} of "${model.name}" is ${version.status}${version.statusReason ? ` (${version.statusReason})` : ''}: an alias can only point at a READY version`,
        { field: 'version', status: version.status },
      );
    }
    const { alias: record } = await this.deps.aliases.set(model.id, alias, version, actor.name);
    return record;
  }

  /** Returns false when the alias did not exist. */
  async remove(actor: Actor, modelName: string, alias: string): Promise<boolean> {
    this.requireRoleFor(actor, checkAlias(alias), 'removing');
    const model = await this.deps.models.require(modelName);
    return this.deps.aliases.remove(model.id, alias, actor.name);
  }

  async history(actor: Actor, modelName: string, alias?: string): Promise<AliasEventRecord[]> {
    requireRole(actor, 'viewer', 'reading alias history');
    const model = await this.deps.models.require(modelName);
    return this.deps.aliases.history(model.id, alias);
  }
}
