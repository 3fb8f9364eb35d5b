import { Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { internalError } from '../../common/errors';
import type { ModelRecord } from '../../registry/model.repository';
import type { DvcRecord, MlflowRunRecord, VersionRecord } from '../../registry/version.repository';
import type { GraphQLContext } from '../context';
import { RegisterVersionInput, VersionRefInput } from '../types/inputs';
import { Model } from '../types/model.type';
import { Derivation } from '../types/optimization.type';
import { storedRemoteBackend, type RemoteBackend as RemoteSetting } from '../../registry/remote-backend';
import { DvcProvenance, MlflowRun, ModelVersion, RemoteBackend, RemoteBackendInput } from '../types/version.type';

@Resolver(() => ModelVersion)
export class VersionResolver {
  @Query(() => ModelVersion, {
    nullable: true,
    description:
      'By version number or alias; with neither, the "champion" alias if set, else the latest READY version.',
  })
  async modelVersion(
    @Ctx() ctx: GraphQLContext,
    @Arg('ref', () => VersionRefInput) ref: VersionRefInput,
  ): Promise<VersionRecord> {
    return (await ctx.services.versions.resolve(ctx.actor, ref)).version;
  }

  @Mutation(() => ModelVersion, { description: "Registers an ONNX file on the gateway's machine as the next version." })
  registerVersion(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => RegisterVersionInput) input: RegisterVersionInput,
  ): Promise<VersionRecord> {
    return ctx.services.versions.register(ctx.actor, input);
  }

  @Mutation(() => ModelVersion, {
    description:
      'Serves a version from a remote Open Inference Protocol engine (Triton, KServe), or locally again with null (admin). The version is unloaded; its next load checks the engine.',
  })
  setVersionRemote(
    @Ctx() ctx: GraphQLContext,
    @Arg('ref', () => VersionRefInput) ref: VersionRefInput,
    @Arg('remote', () => RemoteBackendInput, { nullable: true }) remote: RemoteBackendInput | null,
  ): Promise<VersionRecord> {
    return ctx.services.inference.setRemote(ctx.actor, ref, remote && { ...remote });
  }

  @FieldResolver(() => RemoteBackend, {
    nullable: true,
    description: 'The remote engine serving the version; null: the local runtime.',
  })
  remote(@Root() v: VersionRecord): RemoteSetting | null {
    return storedRemoteBackend(v.remote);
  }

  @Mutation(() => ModelVersion, {
    description:
      "Sets the version's execution providers in order of preference (admin); null or empty: the gateway's EXECUTION_PROVIDERS. CPU stays the last resort. A loaded version is unloaded and loads with them on next use.",
  })
  setVersionExecutionProviders(
    @Ctx() ctx: GraphQLContext,
    @Arg('ref', () => VersionRefInput) ref: VersionRefInput,
    @Arg('providers', () => [String], { nullable: true }) providers: string[] | null,
  ): Promise<VersionRecord> {
    return ctx.services.inference.setExecutionProviders(ctx.actor, ref, providers);
  }

  @FieldResolver(() => [String], {
    nullable: true,
    description: "The version's execution-provider preference; null: the gateway's EXECUTION_PROVIDERS.",
  })
  executionProviders(@Root() v: VersionRecord): string[] | null {
    return v.executionProviders?.length ? v.executionProviders : null;
  }

  @FieldResolver(() => Model)
  async model(@Root() v: VersionRecord, @Ctx() ctx: GraphQLContext): Promise<ModelRecord> {
    const model = await ctx.loaders.modelById.load(v.modelId);
    if (!model) throw internalError(`version ${v.id} has no model`);
    return model;
  }

  @FieldResolver(() => String, { description: 'File size in bytes (64-bit, as a string).' })
  sizeBytes(@Root() v: VersionRecord): string {
    return v.sizeBytes.toString();
  }

  @FieldResolver(() => [String], { description: 'Names of the aliases pointing at this version.' })
  async aliases(@Root() v: VersionRecord, @Ctx() ctx: GraphQLContext): Promise<string[]> {
    return (await ctx.loaders.aliasesByVersionId.load(v.id)).map((a) => a.name);
  }

  @FieldResolver(() => ModelVersion, {
    nullable: true,
    description: 'The version this one was derived from (e.g. quantized).',
  })
  parent(@Root() v: VersionRecord, @Ctx() ctx: GraphQLContext): Promise<VersionRecord | null> | null {
    return v.parentId === null ? null : ctx.loaders.versionById.load(v.parentId);
  }

  @FieldResolver(() => Derivation, {
    nullable: true,
    description: 'How the version was made from its parent (an optimization), when it was.',
  })
  derivation(@Root() v: VersionRecord): Derivation | null {
    const d = v.derivation as Record<string, unknown> | null;
    if (!d || typeof d !== 'object') return null;
    const value = <T>(key: string, type: string): T | null => (typeof d[key] === type ? (d[key] as T) : null);
    return {
      method: d.method as Derivation['method'],
      calibrationDataset: value('calibrationDataset', 'string'),
      calibrationItems: value('calibrationItems', 'number'),
      calibrationMethod: value('calibrationMethod', 'string'),
      tool: value('tool', 'string'),
      quantizedNodes: value('quantizedNodes', 'number'),
      foldedDequantize: value('foldedDequantize', 'number'),
      optimizationId: value('optimizationId', 'number'),
    };
  }

  @FieldResolver(() => [ModelVersion], { description: 'Versions derived from this one (e.g. quantized), in order.' })
  children(@Root() v: VersionRecord, @Ctx() ctx: GraphQLContext): Promise<VersionRecord[]> {
    return ctx.loaders.childrenByVersionId.load(v.id);
  }

  @FieldResolver(() => DvcProvenance, { nullable: true })
  dvc(@Root() v: VersionRecord, @Ctx() ctx: GraphQLContext): Promise<DvcRecord | null> {
    return ctx.loaders.dvcByVersionId.load(v.id);
  }

  @FieldResolver(() => MlflowRun, { nullable: true })
  mlflowRun(@Root() v: VersionRecord, @Ctx() ctx: GraphQLContext): Promise<MlflowRunRecord | null> | null {
    return v.mlflowRunId === null ? null : ctx.loaders.mlflowRunById.load(v.mlflowRunId);
  }
}
