import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Queryable } from '../core/db/database.ts';
import {
  createDeliveryStatements,
  type Delivered,
  type DeliveryStatements,
} from '../core/events/delivery-statements.ts';
import { createEndpoint, type SigningEndpoint } from '../core/webhooks/webhook-endpoints.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let db: Database;
let endpoint: SigningEndpoint;
const owner = randomUUID();

// The statements the delivery statements send, counted on their way to the real database.
let sent: string[] = [];
const counting: Queryable = {
  query: (text, params) => {
    sent.push(text);
    return db.query(text, params);
  },
  exec: (script) => db.exec(script),
};

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  endpoint = await createEndpoint(db, owner, { url: 'https://hooks.example.com/kai' });
});

afterAll(async () => {
  await testDb.drop();
});

async function newDeliveries(n: number): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `insert into public.deliveries (event_id, event_type, channel, owner_id, endpoint_id,
       payload, max_attempts)
     select gen_random_uuid(), 'job.completed', 'webhook', $1, $2, $3::jsonb, 4
     from generate_series(1, $4)
     returning id`,
    [owner, endpoint.id, { type: 'job.completed' }, n],
  );
  return rows.map((r) => r.id);
}

const success = (id: string, attempt = 1): Delivered => ({
  id,
  owner_id: owner,
  attempt,
  started_at: new Date().toISOString(),
  duration_ms: 3,
  status_code: 200,
  response_excerpt: 'ok',
});

const message = (deliveryId: string) => ({ deliveryId, replay: 0, retriedBefore: 0 });

const stateOf = async (id: string) => {
  const [row] = await db.query<{ status: string; attempts: number; recorded: number }>(
    `select status, attempts,
       (select count(*)::int from public.delivery_attempts where delivery_id = $1) as recorded
     from public.deliveries where id = $1`,
    [id],
  );
  return row;
};

describe('delivery statements', () => {
  let statements: DeliveryStatements;

  beforeAll(() => {
    statements = createDeliveryStatements(counting);
  });

  it('sends the claims and successes of one turn as one statement', async () => {
    const [a, b] = (await newDeliveries(2)) as [string, string];
    const claimedA = await statements.claim(message(a));
    expect(claimedA?.endpoint?.id).toBe(endpoint.id);

    sent = [];
    const [settled, claimedB] = await Promise.all([
      statements.settleDelivered(success(a)),
      statements.claim(message(b)),
    ]);
    expect(sent).toHaveLength(1);
    expect(settled).toBeUndefined();
    expect(claimedB).toMatchObject({ id: b, status: 'delivering', attempts: 1 });
    expect(await stateOf(a)).toEqual({ status: 'delivered', attempts: 1, recorded: 1 });
    expect(await stateOf(b)).toEqual({ status: 'delivering', attempts: 1, recorded: 0 });
  });

  it('answers a claim of a delivery settled beside it after the success', async () => {
    const [a] = (await newDeliveries(1)) as [string];
    await statements.claim(message(a));

    const [, again] = await Promise.all([
      statements.settleDelivered(success(a)),
      statements.claim(message(a)),
    ]);
    expect(again).toBeUndefined();
    expect(await stateOf(a)).toEqual({ status: 'delivered', attempts: 1, recorded: 1 });
  });

  it('gives a claim twice in one turn to the first only', async () => {
    const [a] = (await newDeliveries(1)) as [string];
    const [first, second] = await Promise.all([
      statements.claim(message(a)),
      statements.claim(message(a)),
    ]);
    expect(first?.id).toBe(a);
    expect(second).toBeUndefined();
  });

  it('fails a success the database refuses without failing the claims beside it', async () => {
    const [a, b] = (await newDeliveries(2)) as [string, string];
    await statements.claim(message(a));

    // Attempt 0 breaks the attempts table's check constraint.
    const [settled, claimedB] = await Promise.allSettled([
      statements.settleDelivered(success(a, 0)),
      statements.claim(message(b)),
    ]);
    expect(settled.status).toBe('rejected');
    expect(claimedB).toMatchObject({ status: 'fulfilled', value: { id: b } });
    expect(await stateOf(a)).toEqual({ status: 'delivering', attempts: 1, recorded: 0 });
    expect(await stateOf(b)).toEqual({ status: 'delivering', attempts: 1, recorded: 0 });
  });
});
