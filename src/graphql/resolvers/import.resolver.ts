import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { ImportReport as ImportReportRecord } from '../../importers/report';
import type { GraphQLContext } from '../context';
import { ImportDvcInput, ImportMlflowInput, ImportReport } from '../types/import.type';

@Resolver()
export class ImportResolver {
  @Mutation(() => ImportReport, {
    description: 'Imports the model and dataset artifacts of a DVC project, verified by md5.',
  })
  importDvc(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => ImportDvcInput) input: ImportDvcInput,
  ): Promise<ImportReportRecord> {
    return ctx.services.dvcImporter.import(ctx.actor, input);
  }

  @Mutation(() => ImportReport, {
    description: 'Imports MLflow runs, registered models and aliases, linking runs to versions.',
  })
  importMlflow(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => ImportMlflowInput) input: ImportMlflowInput,
  ): Promise<ImportReportRecord> {
    return ctx.services.mlflowImporter.import(ctx.actor, input);
  }
}
