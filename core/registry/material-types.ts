import { z } from 'zod';
import type { Queryable } from '../db/database.ts';
import { ValidationError } from '../errors.ts';
import {
  type MaterialProperties,
  materialPropertiesSchema,
  propertyVectorOf,
} from './material-properties.ts';
import { MaterialExistsError, UnknownMaterialError } from './registry-errors.ts';

/** A material type as the registry returns it. */
export interface MaterialType {
  id: string;
  slug: string;
  name: string;
  category: string;
  properties: MaterialProperties;
  /** The normalised property vector (material-properties.ts), 8 numbers in [-1, 1]. */
  propertyVector: number[];
  textureEmbedding: number[] | null;
  seed: boolean;
  createdBy: string | null;
  createdAt: string;
}

/** What a caller gives to register a material type. */
export const newMaterialTypeSchema = z.strictObject({
  slug: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'lower-case letters, digits and -'),
  name: z.string().min(1).max(200),
  category: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'lower-case letters, digits and -'),
  properties: materialPropertiesSchema,
  /** An appearance embedding, such as the texture network's; stored at unit length. */
  textureEmbedding: z.array(z.number().finite()).min(1).max(2048).optional(),
});

export type NewMaterialType = z.infer<typeof newMaterialTypeSchema>;

interface MaterialRow {
  id: string;
  slug: string;
  name: string;
  category: string;
  properties: MaterialProperties;
  property_vector: number[];
  texture_embedding: number[] | null;
  seed: boolean;
  created_by: string | null;
  created_at: Date | string;
}

const COLUMNS = `id, slug, name, category, properties, property_vector, texture_embedding, seed,
  created_by, created_at`;

function materialFromRow(row: MaterialRow): MaterialType {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    category: row.category,
    properties: row.properties,
    propertyVector: row.property_vector.map(Number),
    textureEmbedding: row.texture_embedding?.map(Number) ?? null,
    seed: row.seed,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * SQL that turns parameter `param`, sent as `{ v: number[] }` (an object, which both drivers
 * send as JSON whatever their statement mode), into double precision[] (null for null).
 */
export const FLOAT8_ARRAY_OF = (param: string) =>
  `(select array_agg(e::float8 order by i) from jsonb_array_elements_text(` +
  `case jsonb_typeof(${param}::jsonb -> 'v') when 'array' then ${param}::jsonb -> 'v' ` +
  `else '[]'::jsonb end) with ordinality as a(e, i))`;

/** Registers a material type, computing its property vector; a taken slug is a conflict. */
export async function createMaterialType(
  db: Queryable,
  input: NewMaterialType,
  actor: string | null,
): Promise<MaterialType> {
  const vector = propertyVectorOf(input.properties);
  if (vector.every((x) => x === 0)) {
    throw new ValidationError(
      'The properties map to the centre of every scale; cosine similarity is undefined there.',
      [
        {
          path: 'properties',
          message: 'at least one property must differ from its scale midpoint',
        },
      ],
    );
  }
  const embedding = input.textureEmbedding ? unitLength(input.textureEmbedding) : null;

  const rows = await db.query<MaterialRow>(
    `insert into public.material_types
       (slug, name, category, properties, property_vector, texture_embedding, created_by)
     values ($1, $2, $3, $4::jsonb, ${FLOAT8_ARRAY_OF('$5')},
             ${FLOAT8_ARRAY_OF('$6')}, $7)
     on conflict (slug) do nothing
     returning ${COLUMNS}`,
    [
      input.slug,
      input.name,
      input.category,
      input.properties,
      { v: vector },
      { v: embedding },
      actor,
    ],
  );
  const row = rows[0];
  if (!row) throw new MaterialExistsError(input.slug);
  return materialFromRow(row);
}

/** The material type with this slug or id, or `UnknownMaterialError`. */
export async function findMaterialType(db: Queryable, ref: string): Promise<MaterialType> {
  const byId = UUID.test(ref);
  const [row] = await db.query<MaterialRow>(
    `select ${COLUMNS} from public.material_types where ${byId ? 'id = $1::uuid' : 'slug = $1'}`,
    [ref],
  );
  if (!row) throw new UnknownMaterialError(ref);
  return materialFromRow(row);
}

/** Material types by slug, optionally of one category; keyset-paged after a slug. */
export async function listMaterialTypes(
  db: Queryable,
  options: { category?: string | undefined; after?: string | undefined; limit: number },
): Promise<MaterialType[]> {
  const rows = await db.query<MaterialRow>(
    `select ${COLUMNS} from public.material_types
     where ($1::text is null or category = $1) and ($2::text is null or slug > $2)
     order by slug limit $3`,
    [options.category ?? null, options.after ?? null, options.limit],
  );
  return rows.map(materialFromRow);
}

function unitLength(values: readonly number[]): number[] {
  const norm = Math.sqrt(values.reduce((sum, x) => sum + x * x, 0));
  if (norm === 0) {
    throw new ValidationError('The texture embedding is all zeros.', [
      { path: 'textureEmbedding', message: 'must not be all zeros' },
    ]);
  }
  return values.map((x) => x / norm);
}
