import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { badInput } from '../../common/errors';
import { fields, speedText, table } from '../format';
import { inlineOrFile, intArg, parseJson, versionRef, type CommandContext } from './shared';

const SPEED =
  'batch1Ms batch32ImagesPerSecond throughputBatchSize executionProvider threads width height channels measuredAt';
const VERSION_FIELDS = `id version status statusReason aliases executionProviders artifactUri sha256 md5 sizeBytes parameters tags createdAt
  parent { version } derivation { method calibrationDataset calibrationItems calibrationMethod tool } dvc { repo rev path md5 remote } mlflowRun { runId runName experimentName trackingUri }
  speed { ${SPEED} } remote { url model modelVersion protocol timeoutMs }`;

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

interface RemoteOptions {
  engine?: string;
  model?: string;
  modelVersion?: string;
  protocol?: 'BINARY' | 'JSON';
  timeoutMs?: number;
  clear?: boolean;
}

/** The setVersionRemote argument of `versions remote`: null with --clear, else --engine and --model are needed. */
function remoteSetting(o: RemoteOptions): Record<string, unknown> | null {
  if (o.clear) {
    if (o.engine || o.model) throw new InvalidArgumentError('give either --clear or --engine/--model, not both');
    return null;
  }
  if (!o.engine || !o.model)
    throw new InvalidArgumentError('--engine and --model are required (or --clear to serve the version locally)');
  return {
    url: o.engine,
    model: o.model,
    modelVersion: o.modelVersion ?? null,
    protocol: o.protocol ?? 'BINARY',
    timeoutMs: o.timeoutMs ?? null,
  };
}

/** `versions list|show|register|speed|remote`. */
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
    .command('remote <model> [versionOrAlias]')
    .description(
      'serve a version from a remote Open Inference Protocol engine (Triton, KServe) instead of the local runtime (admin)',
    )
    // Not --url nor --json: those global options name the gateway and ask for JSON output.
    .option('--engine <url>', 'http(s) base URL of the inference server, e.g. http://triton:8000')
    .option('--model <name>', "the model's name on the server")
    .option('--model-version <v>', "the model's version on the server (default: the server chooses)")
    .option(
      '--protocol <p>',
      'binary (the binary tensor data extension, default) or json',
      (v: string): 'BINARY' | 'JSON' => {
        const p = v.toUpperCase();
        if (p !== 'BINARY' && p !== 'JSON') throw new InvalidArgumentError('--protocol must be binary or json');
        return p;
      },
    )
    .option('--timeout-ms <ms>', 'deadline of one request (default 10000)', intArg('--timeout-ms'))
    .option('--clear', 'serve the version locally again')
    .action((model, ref: string | undefined, o: RemoteOptions) =>
      run<{ setVersionRemote: Record<string, unknown> & { version: number } }>(
        `mutation($ref: VersionRefInput!, $remote: RemoteBackendInput) { setVersionRemote(ref: $ref, remote: $remote) { ${VERSION_FIELDS} } }`,
        { ref: versionRef(model, ref), remote: remoteSetting(o) },
        (d) =>
          `${model} v${d.setVersionRemote.version} ${o.clear ? 'runs locally' : `is served by ${o.engine}`} (unloaded: its next use loads it)\n${versionFields(d.setVersionRemote)}`,
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
