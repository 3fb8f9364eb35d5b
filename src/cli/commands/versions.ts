import path from 'node:path';
import type { Command } from 'commander';
import { badInput } from '../../common/errors';
import { fields, speedText, table } from '../format';
import { inlineOrFile, parseJson, versionRef, type CommandContext } from './shared';

const SPEED =
  'batch1Ms batch32ImagesPerSecond throughputBatchSize executionProvider threads width height channels measuredAt';
const VERSION_FIELDS = `id version status statusReason aliases executionProviders artifactUri sha256 md5 sizeBytes parameters tags createdAt
  parent { version } derivation { method calibrationDataset calibrationItems calibrationMethod tool } dvc { repo rev path md5 remote } mlflowRun { runId runName experimentName trackingUri }
  speed { ${SPEED} }`;

type Speed = Parameters<typeof speedText>[0] & { measuredAt: string };

/** A version's fields for humans: its speed in one line, with when it was measured. */
function versionFields(v: Record<string, unknown>): string {
  const speed = v.speed as Speed | null;
  const providers = v.executionProviders as string[] | null | undefined;
  return fields({
    ...v,
    executionProviders: providers ? providers.join(', ') : "the gateway's EXECUTION_PROVIDERS",
    speed: speed ? `${speedText(speed)}, measured ${speed.measuredAt}` : 'not measured yet (modelgate versions speed)',
  });
}

/** `versions list|show|register`. */
export function register(program: Command, { run }: CommandContext): void {
  const versions = program.command('versions').description('list, show and register model versions');
  versions
    .command('list <model>')
    .description('list the versions of a model')
    .action((model) =>
      run<{ model: { versions: Record<string, unknown>[] } }>(
        `query($name: String!) { model(name: $name) { versions { version status aliases sha256 sizeBytes parameters artifactUri createdAt } } }`,
        { name: model },
        (d) => table(d.model.versions),
      ),
    );
  versions
    .command('show <model> [versionOrAlias]')
    .description('show one version: a number, an alias, or nothing for the default (champion, else latest READY)')
    .action((model, ref?: string) =>
      run<{ modelVersion: Record<string, unknown> }>(
        `query($ref: VersionRefInput!) { modelVersion(ref: $ref) { ${VERSION_FIELDS} signature } }`,
        { ref: versionRef(model, ref) },
        (d) => versionFields(d.modelVersion),
      ),
    );
  versions
    .command('register <model> <file>')
    .description("register an ONNX file as the next version (the file is read on the gateway's machine)")
    .option('--tags <json>', 'free tags as a JSON object, or @file.json', (v) => parseJson('--tags', inlineOrFile(v)))
    .action((model, file, o) =>
      run<{ registerVersion: Record<string, unknown> & { version: number } }>(
        `mutation($input: RegisterVersionInput!) { registerVersion(input: $input) { ${VERSION_FIELDS} } }`,
        { input: { model, artifactPath: path.resolve(file), tags: o.tags } },
        (d) => `registered ${model} v${d.registerVersion.version}\n${versionFields(d.registerVersion)}`,
      ),
    );
  versions
    .command('providers <model> <versionOrAlias> [providers]')
    .description(
      "set the version's execution providers, comma-separated in order of preference (admin); a loaded version reloads with them on next use",
    )
    .option('--default', "clear them: the gateway's EXECUTION_PROVIDERS again")
    .action((model, ref: string, list: string | undefined, o: { default?: boolean }) => {
      if (!list === !o.default) throw badInput('give either a provider list (e.g. webgpu,cpu) or --default');
      return run<{ setVersionExecutionProviders: { version: number; executionProviders: string[] | null } }>(
        `mutation($ref: VersionRefInput!, $providers: [String!]) { setVersionExecutionProviders(ref: $ref, providers: $providers) { version executionProviders } }`,
        { ref: versionRef(model, ref), providers: o.default ? null : list!.split(',').map((p) => p.trim()) },
        ({ setVersionExecutionProviders: v }) =>
          v.executionProviders
            ? `${model} v${v.version} runs on the first of ${v.executionProviders.join(', ')} that loads it (cpu last)`
            : `${model} v${v.version} runs on the gateway's EXECUTION_PROVIDERS`,
      );
    });
  versions
    .command('speed <model> [versionOrAlias]')
    .description(
      "measure a version's speed now, alone on the runtime that serves it, on its model's input size (operator)",
    )
    .action((model, ref?: string) =>
      run<{ measureVersionSpeed: Speed }>(
        `mutation($ref: VersionRefInput!) { measureVersionSpeed(ref: $ref) { ${SPEED} } }`,
        { ref: versionRef(model, ref) },
        (d) => `${speedText(d.measureVersionSpeed)}, measured ${d.measureVersionSpeed.measuredAt}`,
      ),
    );
}
