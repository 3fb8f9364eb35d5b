import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { JSONScalar } from '../scalars';

@ObjectType({ description: 'One thing an import did (or, with dryRun, would do).' })
export class ImportItem {
  @Field(() => String, { description: 'model, version, alias, dataset, run, registered-model, artifact' })
  kind!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int, { nullable: true })
  version?: number | null;

  @Field(() => String, {
    description:
      'created, updated, unchanged, failed, linked, would-create, would-update, skipped (seen, not imported: the reason says why)',
  })
  action!: string;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@ObjectType()
export class ImportReport {
  @Field(() => Int)
  created!: number;

  @Field(() => Int)
  updated!: number;

  @Field(() => Int)
  unchanged!: number;

  @Field(() => Int)
  failed!: number;

  @Field(() => Int, { description: 'Seen and deliberately not imported (each item says why).' })
  skipped!: number;

  @Field(() => [ImportItem])
  items!: ImportItem[];
}

@InputType()
export class ImportDvcInput {
  @Field(() => String, { description: "Path of the DVC project (the folder holding .dvc/) on the gateway's machine." })
  repoPath!: string;

  @Field(() => String, { nullable: true, description: 'Git revision to read (default: the working tree at HEAD).' })
  rev?: string | null;

  @Field(() => Boolean, { nullable: true })
  dryRun?: boolean | null;

  @Field(() => String, {
    nullable: true,
    description:
      'An ONNX file tracked by a .dvc file, a dvc.lock stage output or git, with no type: annotation, imported as a version of `model`.',
  })
  modelPath?: string | null;

  @Field(() => String, { nullable: true, description: 'The registered model `modelPath` becomes a version of.' })
  model?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'A directory output of labeled images with no type: annotation, imported as a dataset.',
  })
  datasetPath?: string | null;

  @Field(() => String, { nullable: true, description: "The dataset's name (default: the folder's name)." })
  dataset?: string | null;

  @Field(() => [String], {
    nullable: true,
    description: "Class names: for a model `model` that does not exist yet, and the dataset's classes.",
  })
  labels?: string[] | null;

  @Field(() => JSONScalar, {
    nullable: true,
    description: 'The inputSpec for a model `model` that does not exist yet (see README).',
  })
  inputSpec?: unknown;

  @Field(() => String, {
    nullable: true,
    description: 'A labels file inside the `datasetPath` directory (default: one folder per class).',
  })
  labelsFile?: string | null;
}

@InputType()
export class ImportMlflowInput {
  @Field(() => String, {
    description:
      'An mlruns/ directory, a file:// URI or an http(s) tracking server. One store however it is written ' +
      '(a trailing slash, a symlink, host case, a default port): runs and versions are keyed by its real path or normalised URL.',
  })
  trackingUri!: string;

  @Field(() => String, { nullable: true, description: 'Experiment name or id (default: all).' })
  experiment?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "Only this registered model's versions and the runs they name (default: all). An unknown name is BAD_USER_INPUT, and nothing is written.",
  })
  registeredModel?: string | null;

  @Field(() => Boolean, { nullable: true })
  dryRun?: boolean | null;
}
