import { badInput, notFound } from '../common/errors';
import { PAGES, pageSize } from '../common/paging';
import { checkText } from '../common/text';
import { requireRole, type Actor } from '../auth/actor';
import { parseInputSpec } from './input-spec';
import type { ModelRecord, ModelRepository } from './model.repository';
import { checkLabels, checkName } from './names';

export const TASKS = ['image-classification'] as const;

export interface RegisterModelInput {
  name: string;
  task?: string | null | undefined;
  labels: string[];
  inputSpec: unknown;
  description?: string | null | undefined;
}

export class ModelService {
  constructor(private readonly models: ModelRepository) {}

  async register(actor: Actor, input: RegisterModelInput): Promise<ModelRecord> {
    requireRole(actor, 'operator', 'registering a model');
    const task = input.task ?? 'image-classification';
    if (!(TASKS as readonly string[]).includes(task))
      throw badInput(`unsupported task "${task}": supported are ${TASKS.join(', ')}`, { field: 'task' });
    return this.models.create({
      name: checkName('model', input.name),
      task,
      description: input.description == null ? null : checkText('description', input.description).trim() || null,
      labels: checkLabels(input.labels),
      inputSpec: parseInputSpec(input.inputSpec),
    });
  }

  async list(
    actor: Actor,
    opts: { search?: string | null; first?: number | null; after?: string | null } = {},
  ): Promise<ModelRecord[]> {
    requireRole(actor, 'viewer', 'listing models');
    const first = pageSize(opts.first, PAGES.models);
    const search = opts.search == null ? undefined : checkText('search', opts.search);
    const after = opts.after == null ? undefined : checkText('after', opts.after);
    return this.models.list({ search, first, after });
  }

  async get(actor: Actor, name: string): Promise<ModelRecord> {
    requireRole(actor, 'viewer', 'reading a model');
    return this.require(name);
  }

  /** For other services, which have checked access themselves: null when there is no such model. */
  async find(name: string): Promise<ModelRecord | null> {
    return this.models.findByName(checkText('model', name));
  }

  /** As `find`, NOT_FOUND when there is no such model. */
  async require(name: string): Promise<ModelRecord> {
    const model = await this.find(name);
    if (!model) throw notFound(`no model named "${name}"`, { model: name });
    return model;
  }

  /** For other services and the job runners, which have checked access themselves: null when there is no such model. */
  async findById(id: number): Promise<ModelRecord | null> {
    const [model] = await this.models.findByIds([id]);
    return model ?? null;
  }
}
