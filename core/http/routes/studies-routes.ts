import { createRoute, z } from '@hono/zod-openapi';
import { callerOf } from '../../auth/authenticate.ts';
import { asCaller } from '../../auth/user-scope.ts';
import { cachedCapabilities } from '../../db/capabilities.ts';
import { RegistryDisabledError } from '../../registry/registry-errors.ts';
import { tryAskTrial } from '../../studies/ask-trial.ts';
import { completeStudy } from '../../studies/complete-study.ts';
import { enqueueTrial } from '../../studies/enqueue-trial.ts';
import { promoteBestTrial } from '../../studies/promote-best-trial.ts';
import { prunerOptionsSchema, samplerOptionsSchema } from '../../studies/sampler-options.ts';
import { searchSpaceSchema } from '../../studies/search-space.ts';
import {
  createStudy,
  getStudy,
  listTrials,
  MAX_TRIALS_LIMIT,
  maxTrialsSchema,
  type StudyRow,
  studyFromRow,
  summarizeStudy,
} from '../../studies/studies.ts';
import {
  heartbeatTrial,
  reportIntermediate,
  tellSchema,
  tellTrial,
} from '../../studies/tell-trial.ts';
import { warmStartStudy } from '../../studies/warm-start-study.ts';
import type { ApiDeps } from '../app-env.ts';
import {
  AUTH_PROBLEMS,
  BEARER_SECURITY,
  createRouter,
  IdParam,
  jsonBody,
  jsonResponse,
  problem,
} from '../openapi.ts';
import { DEFAULT_REGISTRY_SETTINGS, type RegistrySettings } from './registry-routes.ts';
import { ParamValuesSchema, SearchSpaceSchema, SetSchema } from './registry-schemas.ts';

const TAG = 'studies';

const StudySchema = z
  .object({
    id: z.uuid(),
    ownerId: z.string().nullable(),
    name: z.string(),
    materialId: z.string().nullable(),
    task: z.string().nullable(),
    space: SearchSpaceSchema,
    direction: z.enum(['minimize', 'maximize']),
    sampler: z.record(z.string(), z.unknown()),
    pruner: z.record(z.string(), z.unknown()),
    heartbeatTimeoutMs: z.number().int(),
    status: z.enum(['running', 'completed']).openapi({
      description: '`running` until the study completes (explicitly or by its budget), for good',
    }),
    maxTrials: z.number().int().nullable().openapi({
      description: 'The trial budget: finished trials (complete, pruned, failed) that end it',
    }),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi('Study');

const TrialSchema = z
  .object({
    id: z.uuid(),
    studyId: z.uuid(),
    number: z.number().int(),
    state: z.enum(['waiting', 'running', 'complete', 'pruned', 'failed']),
    params: ParamValuesSchema,
    source: z.enum(['sampler', 'enqueued', 'warm_start', 'retry']),
    origin: z.record(z.string(), z.unknown()).nullable(),
    value: z.number().nullable(),
    workerId: z.string().nullable(),
    failReason: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi('Trial');

const SummarySchema = StudySchema.extend({
  counts: z.object({
    waiting: z.number().int(),
    running: z.number().int(),
    complete: z.number().int(),
    pruned: z.number().int(),
    failed: z.number().int(),
  }),
  best: TrialSchema.nullable(),
}).openapi('StudySummary');

const WarmStartSchema = z
  .object({
    sources: z.array(
      z.object({
        studyId: z.uuid(),
        material: z.string(),
        similarity: z.number(),
        trials: z.number().int(),
      }),
    ),
    enqueued: z.array(z.number().int()),
    priors: z.number().int(),
  })
  .openapi('WarmStartReport');

const WarmStartOptions = z.strictObject({
  threshold: z.number().min(-1).max(1).optional(),
  maxMaterials: z.number().int().min(1).max(100).optional(),
  enqueueTop: z.number().int().min(0).max(100).optional(),
  priorsPerSource: z.number().int().min(0).max(1000).optional(),
});

const NewStudyBody = z
  .strictObject({
    name: z.string().min(1).max(200),
    material: z.string().min(1).max(100).optional(),
    task: z.string().min(1).max(100).optional(),
    space: searchSpaceSchema.optional(),
    direction: z.enum(['minimize', 'maximize']).default('minimize'),
    sampler: samplerOptionsSchema.optional(),
    pruner: prunerOptionsSchema.optional(),
    heartbeatTimeoutMs: z.number().int().min(1000).max(86_400_000).optional(),
    maxTrials: maxTrialsSchema.optional().openapi({
      description:
        `A trial budget (1 to ${MAX_TRIALS_LIMIT}), as Optuna's n_trials: once this many ` +
        'trials finished (complete, pruned or failed) the study completes; no more are asked',
    }),
    warmStart: z.union([z.boolean(), WarmStartOptions]).default(false),
  })
  .openapi('NewStudy');

const TrialPath = IdParam.extend({
  number: z.coerce
    .number()
    .int()
    .min(0)
    .openapi({ param: { name: 'number', in: 'path' }, description: 'The trial number' }),
});
const NOT_FOUND = problem('No such study (of yours) or trial.');
const NOT_RUNNING = problem('The trial is not running (`trial_not_running`): told, or failed.');
const COMPLETED = problem('The study has completed (`study_completed`).');

const createStudyRoute = createRoute({
  method: 'post',
  path: '/v1/studies',
  tags: [TAG],
  summary: 'Creates a study, optionally warm-started from similar materials\u2019 studies',
  security: BEARER_SECURITY,
  request: jsonBody(NewStudyBody),
  responses: {
    201: jsonResponse(StudySchema.extend({ warmStart: WarmStartSchema.nullable() }), 'The study'),
    ...AUTH_PROBLEMS,
    404: problem('No such material type or task.'),
    422: problem('A study without a space or task, or a bad space.'),
  },
});

const listStudiesRoute = createRoute({
  method: 'get',
  path: '/v1/studies',
  tags: [TAG],
  summary: 'Your studies, newest first',
  security: BEARER_SECURITY,
  request: {
    query: z.object({
      status: z.enum(['running', 'completed']).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
  },
  responses: {
    200: jsonResponse(z.object({ studies: z.array(StudySchema) }), 'Studies'),
    ...AUTH_PROBLEMS,
  },
});

const getStudyRoute = createRoute({
  method: 'get',
  path: '/v1/studies/{id}',
  tags: [TAG],
  summary: 'A study with its trial counts and best trial',
  security: BEARER_SECURITY,
  request: { params: IdParam },
  responses: { 200: jsonResponse(SummarySchema, 'The study'), ...AUTH_PROBLEMS, 404: NOT_FOUND },
});

const askRoute = createRoute({
  method: 'post',
  path: '/v1/studies/{id}/ask',
  tags: [TAG],
  summary: 'The next trial to run: a waiting one, or new parameters from the sampler',
  security: BEARER_SECURITY,
  request: {
    params: IdParam,
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z.strictObject({ workerId: z.string().max(200).optional() }),
        },
      },
    },
  },
  responses: {
    200: jsonResponse(TrialSchema, 'A running trial'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    409: problem(
      'The study has completed (`study_completed`), or every trial of its budget is handed ' +
        'out (`trial_budget_spent`).',
    ),
  },
});

const enqueueRoute = createRoute({
  method: 'post',
  path: '/v1/studies/{id}/trials',
  tags: [TAG],
  summary: 'Queues a trial with fixed parameters, asked before the sampler',
  security: BEARER_SECURITY,
  request: { params: IdParam, ...jsonBody(z.strictObject({ params: ParamValuesSchema })) },
  responses: {
    201: jsonResponse(TrialSchema, 'The waiting trial'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    409: COMPLETED,
    422: problem("Parameters outside the study's space."),
  },
});

const listTrialsRoute = createRoute({
  method: 'get',
  path: '/v1/studies/{id}/trials',
  tags: [TAG],
  summary: 'The trials of a study by number',
  security: BEARER_SECURITY,
  request: {
    params: IdParam,
    query: z.object({
      state: z.enum(['waiting', 'running', 'complete', 'pruned', 'failed']).optional(),
      after: z.coerce.number().int().min(-1).default(-1),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  responses: {
    200: jsonResponse(z.object({ trials: z.array(TrialSchema) }), 'Trials'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
  },
});

const tellRoute = createRoute({
  method: 'post',
  path: '/v1/studies/{id}/trials/{number}/tell',
  tags: [TAG],
  summary: "Records a running trial's outcome: complete with its value, pruned or failed",
  security: BEARER_SECURITY,
  request: { params: TrialPath, ...jsonBody(tellSchema) },
  responses: {
    200: jsonResponse(TrialSchema, 'The finished trial'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    409: NOT_RUNNING,
  },
});

const reportRoute = createRoute({
  method: 'post',
  path: '/v1/studies/{id}/trials/{number}/report',
  tags: [TAG],
  summary: 'Reports an intermediate value; answers whether the pruner would stop the trial',
  security: BEARER_SECURITY,
  request: {
    params: TrialPath,
    ...jsonBody(z.strictObject({ step: z.number().int().min(0), value: z.number() })),
  },
  responses: {
    200: jsonResponse(z.object({ shouldPrune: z.boolean() }), 'The pruning decision'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    409: NOT_RUNNING,
  },
});

const heartbeatRoute = createRoute({
  method: 'post',
  path: '/v1/studies/{id}/trials/{number}/heartbeat',
  tags: [TAG],
  summary: 'Keeps a running trial alive',
  security: BEARER_SECURITY,
  request: { params: TrialPath },
  responses: {
    204: { description: 'Alive' },
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    409: NOT_RUNNING,
  },
});

const warmStartRoute = createRoute({
  method: 'post',
  path: '/v1/studies/{id}/warm-start',
  tags: [TAG],
  summary: "Enqueues similar materials' best trials and adds their trials as TPE priors",
  security: BEARER_SECURITY,
  request: { params: IdParam, ...jsonBody(WarmStartOptions) },
  responses: {
    200: jsonResponse(WarmStartSchema, 'What was borrowed from where'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    409: COMPLETED,
    422: problem('The study has no material or task.'),
  },
});

const completeRoute = createRoute({
  method: 'post',
  path: '/v1/studies/{id}/complete',
  tags: [TAG],
  summary: 'Ends a running study and announces `study.completed`; running trials may be told',
  security: BEARER_SECURITY,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(SummarySchema, 'The completed study'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    409: problem(
      'The study has completed already (`study_completed`, with `completedAt`); send an ' +
        '`Idempotency-Key` to have a retry answered as the first request was.',
    ),
  },
});

const promoteRoute = createRoute({
  method: 'post',
  path: '/v1/studies/{id}/promote',
  tags: [TAG],
  summary: "Writes the best trial as a new version of the material's parameter set",
  security: BEARER_SECURITY,
  request: {
    params: IdParam,
    ...jsonBody(
      z.strictObject({
        set: z
          .string()
          .regex(/^[a-z][a-z0-9_-]{0,62}$/)
          .optional(),
        activate: z.boolean().default(true),
      }),
    ),
  },
  responses: {
    201: jsonResponse(
      z.object({ set: SetSchema, trialNumber: z.number().int() }),
      'The new version',
    ),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    409: problem('No complete trial, or no material and task (`nothing_to_promote`).'),
  },
});

/**
 * `/v1/studies`: hyperparameter studies with ask/tell, reports and pruning, warm starts,
 * completion (explicit or by a trial budget, announced as `study.completed`) and promotion to
 * the registry. `studies:read` to read, `studies:write` for the rest; every query
 * runs as the caller under RLS, so each user drives only their own studies.
 */
export function studiesRoutes(
  deps: ApiDeps,
  settings: RegistrySettings = DEFAULT_REGISTRY_SETTINGS,
) {
  const router = createRouter();

  const capabilitiesOf = cachedCapabilities(deps.db);
  const requireRegistry = () => {
    if (!settings.enabled) throw new RegistryDisabledError();
  };

  router.openapi(createStudyRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:write' });
    const { warmStart, ...input } = c.req.valid('json');
    if (warmStart !== false) requireRegistry();
    const caps = await capabilitiesOf();
    const created = await asCaller(deps.db, auth, async (tx) => {
      const study = await createStudy(tx, input, auth.subject);
      if (warmStart === false) return { ...study, warmStart: null };
      const options = warmStart === true ? {} : warmStart;
      const report = await warmStartStudy(tx, caps, study.id, {
        threshold: options.threshold ?? settings.similarityThreshold,
        maxMaterials: options.maxMaterials,
        warmStart: {
          ...(options.enqueueTop === undefined ? {} : { enqueueTop: options.enqueueTop }),
          ...(options.priorsPerSource === undefined
            ? {}
            : { priorsPerSource: options.priorsPerSource }),
        },
      });
      return { ...study, warmStart: report };
    });
    c.get('logger').info({ studyId: created.id }, 'study created');
    return c.json(created, 201);
  });

  router.openapi(listStudiesRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:read' });
    const { status, limit } = c.req.valid('query');
    const rows = await asCaller(deps.db, auth, (tx) =>
      tx.query<StudyRow>(
        `select * from public.studies where ($1::text is null or status = $1)
         order by created_at desc limit $2`,
        [status ?? null, limit],
      ),
    );
    return c.json({ studies: rows.map(studyFromRow) }, 200);
  });

  router.openapi(getStudyRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:read' });
    const { id } = c.req.valid('param');
    const summary = await asCaller(deps.db, auth, async (tx) => {
      const { nextTrialNumber: _, ...study } = await getStudy(tx, id);
      return { ...study, ...(await summarizeStudy(tx, study)) };
    });
    return c.json(summary, 200);
  });

  router.openapi(askRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:write' });
    const { id } = c.req.valid('param');
    const workerId = (c.req.valid('json') as { workerId?: string } | undefined)?.workerId;
    // A refusal still commits: the ask may have failed stale trials and completed the study.
    const outcome = await asCaller(deps.db, auth, (tx) => tryAskTrial(tx, id, { workerId }));
    if ('refused' in outcome) throw outcome.refused;
    return c.json(outcome.trial, 200);
  });

  router.openapi(enqueueRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:write' });
    const { id } = c.req.valid('param');
    const { params } = c.req.valid('json');
    const trial = await asCaller(deps.db, auth, (tx) => enqueueTrial(tx, id, params));
    return c.json(trial, 201);
  });

  router.openapi(listTrialsRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:read' });
    const { id } = c.req.valid('param');
    const { state, after, limit } = c.req.valid('query');
    const trials = await asCaller(deps.db, auth, async (tx) => {
      await getStudy(tx, id);
      return await listTrials(tx, id, { states: state ? [state] : undefined, after, limit });
    });
    return c.json({ trials }, 200);
  });

  router.openapi(tellRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:write' });
    const { id, number } = c.req.valid('param');
    const tell = c.req.valid('json');
    const trial = await asCaller(deps.db, auth, (tx) => tellTrial(tx, id, number, tell));
    return c.json(trial, 200);
  });

  router.openapi(reportRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:write' });
    const { id, number } = c.req.valid('param');
    const report = c.req.valid('json');
    const decision = await asCaller(deps.db, auth, (tx) =>
      reportIntermediate(tx, id, number, report),
    );
    return c.json(decision, 200);
  });

  router.openapi(heartbeatRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:write' });
    const { id, number } = c.req.valid('param');
    await asCaller(deps.db, auth, (tx) => heartbeatTrial(tx, id, number));
    return c.body(null, 204);
  });

  router.openapi(warmStartRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:write' });
    requireRegistry();
    const { id } = c.req.valid('param');
    const options = c.req.valid('json');
    const caps = await capabilitiesOf();
    const report = await asCaller(deps.db, auth, (tx) =>
      warmStartStudy(tx, caps, id, {
        threshold: options.threshold ?? settings.similarityThreshold,
        maxMaterials: options.maxMaterials,
        warmStart: {
          ...(options.enqueueTop === undefined ? {} : { enqueueTop: options.enqueueTop }),
          ...(options.priorsPerSource === undefined
            ? {}
            : { priorsPerSource: options.priorsPerSource }),
        },
      }),
    );
    return c.json(report, 200);
  });

  router.openapi(completeRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:write' });
    const { id } = c.req.valid('param');
    const summary = await asCaller(deps.db, auth, async (tx) => {
      const study = await completeStudy(tx, id);
      return { ...study, ...(await summarizeStudy(tx, study)) };
    });
    c.get('logger').info({ studyId: id }, 'study completed');
    return c.json(summary, 200);
  });

  router.openapi(promoteRoute, async (c) => {
    const auth = callerOf(c, { scope: 'studies:write' });
    requireRegistry();
    const { id } = c.req.valid('param');
    const { set, activate } = c.req.valid('json');
    const promoted = await asCaller(deps.db, auth, (tx) =>
      promoteBestTrial(tx, id, {
        set: set ?? settings.defaultSet,
        activate,
        actor: auth.subject,
      }),
    );
    c.get('logger').info({ studyId: id, trialNumber: promoted.trialNumber }, 'best trial promoted');
    return c.json(promoted, 201);
  });

  return router;
}
