import { KaiError } from '../errors.ts';

/** A material type named by slug or id that the registry does not hold. */
export class UnknownMaterialError extends KaiError {
  constructor(material: string) {
    super({
      code: 'unknown_material',
      status: 404,
      title: 'Unknown material type',
      detail:
        `The registry holds no material type ${JSON.stringify(material)}; ` +
        'GET /v1/registry/materials lists those it holds.',
    });
  }
}

/** A task the registry has no parameter space for. */
export class UnknownTaskError extends KaiError {
  constructor(task: string) {
    super({
      code: 'unknown_task',
      status: 404,
      title: 'Unknown task',
      detail:
        `The registry has no task ${JSON.stringify(task)}; GET /v1/registry/tasks lists its ` +
        'tasks and their parameter spaces.',
    });
  }
}

/** A material has no parameter set of that name for the task, or no such version. */
export class UnknownParameterSetError extends KaiError {
  constructor(detail: string) {
    super({ code: 'unknown_parameter_set', status: 404, title: 'Unknown parameter set', detail });
  }
}

/** A material type's slug is taken. */
export class MaterialExistsError extends KaiError {
  constructor(slug: string) {
    super({
      code: 'material_exists',
      status: 409,
      title: 'Material type exists',
      detail: `A material type with slug ${JSON.stringify(slug)} exists already; pick another slug.`,
    });
  }
}

/** PARAM_REGISTRY_ENABLED is false. */
export class RegistryDisabledError extends KaiError {
  constructor() {
    super({
      code: 'registry_disabled',
      status: 503,
      title: 'Parameter registry disabled',
      detail:
        'The parameter registry is turned off on this deployment (PARAM_REGISTRY_ENABLED=false); ' +
        'submit the parameters in the payload instead.',
    });
  }
}

/** A job named registry parameters of another task than the one its type is tuned by. */
export class ParametersTaskMismatchError extends KaiError {
  constructor(jobType: string, task: string, expected: string) {
    super(
      {
        code: 'parameters_task_mismatch',
        status: 422,
        title: 'Parameters of another task',
        detail:
          `Job type ${jobType} runs with parameters of the task ${expected}, not ` +
          `${JSON.stringify(task)}; name task ${JSON.stringify(expected)} instead.`,
      },
      { extensions: { jobType, task, expectedTask: expected } },
    );
  }
}
