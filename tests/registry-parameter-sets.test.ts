import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../core/config/defaults.ts';
import type { Database } from '../core/db/database.ts';
import { submitJob } from '../core/jobs/submit-job.ts';
import { propertyVectorOf } from '../core/registry/material-properties.ts';
import {
  createMaterialType,
  findMaterialType,
  listMaterialTypes,
} from '../core/registry/material-types.ts';
import {
  activateVersion,
  addParameterSetVersion,
  getParameterSet,
  listChanges,
  listVersions,
} from '../core/registry/parameter-sets.ts';
import { pruneParameterHistory } from '../core/registry/prune-parameter-history.ts';
import { resolveParameters } from '../core/registry/resolve-parameters.ts';
import { listTasks } from '../core/registry/tasks.ts';
import { asRole, asUser, createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let db: Database;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
});

afterAll(async () => {
  await testDb.drop();
});

const classifyValues = (k: number) => ({
  k,
  temperature: 0.5,
  minConfidence: 0.4,
  vote: 'majority',
});

describe('seed data', () => {
  it('ships common material types whose vectors are their properties normalised', async () => {
    const materials = await listMaterialTypes(db, { limit: 100 });
    const slugs = materials.map((m) => m.slug);

    for (const slug of ['ceramic-tile', 'porcelain', 'marble', 'granite', 'oak', 'walnut']) {
      expect(slugs).toContain(slug);
    }
    for (const slug of ['cotton', 'linen', 'steel', 'aluminium']) expect(slugs).toContain(slug);
    for (const m of materials) {
      const expected = propertyVectorOf(m.properties);
      for (const [i, x] of m.propertyVector.entries()) {
        expect(x).toBeCloseTo(expected[i] as number, 5);
      }
      for (const x of m.propertyVector) expect(Math.abs(x)).toBeLessThanOrEqual(1);
    }
  });

  it(`gives every seeded material an active ${DEFAULTS.DEFAULT_PARAMETER_SET} set per task that fits its space`, async () => {
    const tasks = await listTasks(db);
    expect(tasks.map((t) => t.name)).toEqual([
      'material.classify',
      'spec.extract',
      'texture.embed',
    ]);

    for (const task of tasks) {
      const resolved = await resolveParameters(db, { material: 'marble', task: task.name });
      expect(resolved).toMatchObject({ material: 'marble', set: 'standard', version: 1 });
      expect(Object.keys(resolved.values).sort()).toEqual(Object.keys(task.space).sort());
    }
  });
});

describe('parameter sets', () => {
  it('adds immutable versions, moves the active pointer and logs who did what', async () => {
    const actor = randomUUID();
    const ref = { material: 'oak', task: 'material.classify', set: 'tuned' };

    const v1 = await db.transaction((tx) =>
      addParameterSetVersion(
        tx,
        ref,
        { values: classifyValues(5), source: 'manual', activate: true },
        actor,
      ),
    );
    const v2 = await db.transaction((tx) =>
      addParameterSetVersion(
        tx,
        ref,
        { values: classifyValues(7), source: 'manual', score: 0.8, activate: false },
        actor,
      ),
    );
    expect(v1.active?.version).toBe(1);
    expect(v2.active?.version).toBe(1);
    expect(v2.best?.version).toBe(2);

    const back = await db.transaction((tx) => activateVersion(tx, ref, 2, actor));
    expect(back.active?.values).toEqual(classifyValues(7));
    expect((await listVersions(db, back.id)).map((v) => v.version)).toEqual([2, 1]);
    const changes = await listChanges(db, back.id);
    expect(changes.map((c) => [c.action, c.version])).toEqual([
      ['activated', 2],
      ['version_added', 2],
      ['activated', 1],
      ['version_added', 1],
      ['created', null],
    ]);
    expect(changes.every((c) => c.actor === actor)).toBe(true);

    const update = await db
      .query(`update public.parameter_set_versions set "values" = '{}' where set_id = $1`, [
        back.id,
      ])
      .catch((e: unknown) => e);
    expect(String(update)).toContain('immutable');
  });

  it('refuses values outside the task space, naming each field', async () => {
    const error = await db
      .transaction((tx) =>
        addParameterSetVersion(
          tx,
          { material: 'oak', task: 'material.classify', set: 'standard' },
          {
            values: { k: 0.5, temperature: 50, minConfidence: 0.5, vote: 'loudest', extra: 1 },
            source: 'manual',
            activate: true,
          },
          null,
        ),
      )
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'validation_failed', status: 422 });
    const paths = (error as { extensions: { errors: { path: string }[] } }).extensions.errors.map(
      (e) => e.path,
    );
    expect(paths).toEqual(
      expect.arrayContaining(['values.k', 'values.temperature', 'values.vote']),
    );
    expect(
      (await getParameterSet(db, { material: 'oak', task: 'material.classify', set: 'standard' }))
        .active?.version,
    ).toBe(1);
  });

  it('names a missing material, task or set clearly', async () => {
    const missing = [
      resolveParameters(db, { material: 'unobtainium', task: 'material.classify' }),
      resolveParameters(db, { material: 'oak', task: 'telepathy' }),
      resolveParameters(db, { material: 'oak', task: 'material.classify', set: 'nope' }),
    ];
    const errors = await Promise.all(missing.map((p) => p.catch((e: unknown) => e)));

    expect(errors.map((e) => (e as { code: string }).code)).toEqual([
      'unknown_material',
      'unknown_task',
      'unknown_parameter_set',
    ]);
  });
});

describe('history retention', () => {
  it('prunes versions past the retention except the active and the best', async () => {
    const ref = { material: 'granite', task: 'texture.embed', set: 'retention' };
    const values = (colorWeight: number) => ({
      patchSize: 128,
      patchesPerImage: 16,
      scales: 2,
      colorWeight,
    });
    let setId = '';
    for (const [i, score] of [0.5, 0.9, 0.6, 0.7, null].entries()) {
      const set = await db.transaction((tx) =>
        addParameterSetVersion(
          tx,
          ref,
          { values: values(i / 10), score, source: 'manual', activate: i === 2 },
          null,
        ),
      );
      setId = set.id;
    }
    // Versions 1-4 are old; version 5 is recent. Active: 3. Best: 2 (0.9).
    await db.exec(
      `alter table public.parameter_set_versions disable trigger parameter_set_versions_immutable`,
    );
    await db.query(
      `update public.parameter_set_versions set created_at = now() - interval '200 days'
       where set_id = $1 and version <= 4`,
      [setId],
    );
    await db.exec(
      `alter table public.parameter_set_versions enable trigger parameter_set_versions_immutable`,
    );

    const result = await pruneParameterHistory(db, {
      retentionDays: DEFAULTS.PARAM_HISTORY_RETENTION_DAYS,
    });
    const kept = (await listVersions(db, setId)).map((v) => v.version);

    expect(result.deletedVersions).toBe(2);
    expect(kept).toEqual([5, 3, 2]);
    expect((await listChanges(db, setId))[0]).toMatchObject({
      action: 'pruned',
      detail: { versions: [1, 4], retentionDays: 90 },
    });
    expect(await pruneParameterHistory(db, { retentionDays: 90 })).toEqual({ deletedVersions: 0 });
  });
});

describe('jobs that name registry parameters', () => {
  it('get the active version resolved into their payload when submitted', async () => {
    const { job } = await submitJob(db, structuredClone(DEFAULTS.KAI_QUEUES), {
      type: 'noop',
      payload: {},
      ownerId: null,
      parameters: { material: 'steel', task: 'spec.extract' },
    });
    const active = await getParameterSet(db, {
      material: 'steel',
      task: 'spec.extract',
      set: 'standard',
    });

    expect(job.payload).toMatchObject({
      parameters: {
        material: 'steel',
        task: 'spec.extract',
        set: 'standard',
        version: active.active?.version,
        versionId: active.active?.id,
        values: active.active?.values,
      },
    });
  });

  it('read the configured default set, and are refused when the registry is off', async () => {
    await db.transaction((tx) =>
      addParameterSetVersion(
        tx,
        { material: 'steel', task: 'spec.extract', set: 'house' },
        {
          values: {
            detThreshold: 0.4,
            boxThreshold: 0.7,
            unclipRatio: 2,
            maxSideLen: 1280,
            recScoreMin: 0.6,
          },
          source: 'manual',
          activate: true,
        },
        null,
      ),
    );
    const submission = {
      type: 'noop',
      payload: {},
      ownerId: null,
      parameters: { material: 'steel', task: 'spec.extract' },
    };
    const classes = structuredClone(DEFAULTS.KAI_QUEUES);

    const { job } = await submitJob(db, classes, submission, {
      enabled: true,
      defaultSet: 'house',
    });
    const off = await submitJob(db, classes, submission, {
      enabled: false,
      defaultSet: 'standard',
    }).catch((e: unknown) => e);

    expect(job.payload).toMatchObject({
      parameters: { set: 'house', values: { maxSideLen: 1280 } },
    });
    expect(off).toMatchObject({ code: 'registry_disabled', status: 503 });
  });

  it('are refused, with nothing stored, when the set does not exist', async () => {
    const before = await db.query<{ n: number }>('select count(*)::int as n from public.jobs');
    const error = await submitJob(db, structuredClone(DEFAULTS.KAI_QUEUES), {
      type: 'noop',
      payload: {},
      ownerId: null,
      parameters: { material: 'steel', task: 'spec.extract', set: 'missing' },
    }).catch((e: unknown) => e);
    const after = await db.query<{ n: number }>('select count(*)::int as n from public.jobs');

    expect(error).toMatchObject({ code: 'unknown_parameter_set' });
    expect(after).toEqual(before);
  });
});

describe('material types', () => {
  it('registers a material with its vector and a unit-length texture embedding', async () => {
    const material = await createMaterialType(
      db,
      {
        slug: 'travertine',
        name: 'Travertine',
        category: 'stone',
        properties: {
          densityKgM3: 2400,
          mohsHardness: 4,
          porosity: 0.1,
          gloss60Gu: 15,
          roughnessRaUm: 3,
          grainScaleMm: 3,
          colorVariation: 0.4,
          thermalConductivityWmK: 1.6,
        },
        textureEmbedding: [3, 4],
      },
      null,
    );
    const again = await findMaterialType(db, material.id);

    expect(again.textureEmbedding).toEqual([0.6, 0.8]);
    expect(again.propertyVector).toEqual(propertyVectorOf(material.properties));
    const dup = await createMaterialType(
      db,
      { ...material, textureEmbedding: undefined },
      null,
    ).catch((e: unknown) => e);
    expect(dup).toMatchObject({ code: 'material_exists', status: 409 });
  });
});

describe('row-level security on the registry', () => {
  const TABLES = [
    'material_types',
    'registry_tasks',
    'parameter_sets',
    'parameter_set_versions',
    'parameter_set_changes',
    'studies',
    'study_trials',
    'study_trial_reports',
    'study_priors',
  ];

  it('is enabled on every registry and study table', async () => {
    const rows = await db.query<{ relname: string; relrowsecurity: boolean }>(
      `select relname, relrowsecurity from pg_class
       where relnamespace = 'public'::regnamespace and relname = any($1::text[])`,
      [TABLES],
    );
    expect(rows.map((r) => r.relname).sort()).toEqual([...TABLES].sort());
    expect(rows.every((r) => r.relrowsecurity)).toBe(true);
  });

  it('lets users read the registry and add in their own name only; anon sees nothing', async () => {
    const user = randomUUID();
    const ref = { material: 'linen', task: 'texture.embed', set: 'mine' };
    const values = { patchSize: 64, patchesPerImage: 8, scales: 1, colorWeight: 0.2 };

    const set = await asUser(db, user, (tx) =>
      addParameterSetVersion(tx, ref, { values, source: 'manual', activate: true }, user),
    );
    const forged = await asUser(db, user, (tx) =>
      addParameterSetVersion(
        tx,
        { ...ref, set: 'forged' },
        { values, source: 'manual', activate: true },
        randomUUID(),
      ),
    ).catch((e: unknown) => e);
    const deleted = await asUser(db, user, (tx) =>
      tx.query('delete from public.parameter_set_versions where set_id = $1 returning id', [
        set.id,
      ]),
    ).catch((e: unknown) => e);
    const anon = await asRole(db, 'anon', {}, (tx) =>
      tx.query('select count(*) from public.material_types'),
    ).catch((e: unknown) => e);

    expect(set.active?.createdBy).toBe(user);
    expect(String(forged)).toContain('row-level security');
    expect(String(deleted)).toContain('permission denied');
    expect(String(anon)).toContain('permission denied');
  });
});
