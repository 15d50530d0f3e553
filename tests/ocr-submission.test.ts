import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hugePng } from '../scripts/eval/bad-images.ts';
import { createTestApi, jsonInit, type TestApi } from './helpers/api-app.ts';
import { bearer } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let api: TestApi;
let headers: Record<string, string>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  api = await createTestApi(testDb.db);
  headers = await bearer(randomUUID());
});

afterAll(async () => {
  await api.cleanup();
  await testDb.drop();
});

const submit = (payload: unknown, type = 'ocr.extract') =>
  api.app.request('/v1/jobs', jsonInit('POST', { type, payload }, headers));

describe('POST /v1/jobs for ocr.extract and spec.extract', () => {
  it('queues a readable image', async () => {
    const png = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const response = await submit({ imageBase64: png.toString('base64') });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ type: 'ocr.extract', status: 'queued' });
  });

  it.each([
    ['zero bytes', '', /empty/],
    ['bytes that are no image', Buffer.from('%PDF-1.7').toString('base64'), /not a PNG/],
    ['a 30000 x 30000 PNG', hugePng(30_000, 30_000).toString('base64'), /30000x30000/],
    ['text that is not base64', 'data:image/png;base64,AAAA', /standard base64/],
  ])('answers %s with a 422 problem naming payload.imageBase64', async (_label, image, why) => {
    const response = await submit({ imageBase64: image });

    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const problem = (await response.json()) as {
      code: string;
      errors: { path: string; message: string }[];
    };
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors[0]?.path).toBe('payload.imageBase64');
    expect(problem.errors[0]?.message).toMatch(why);
  });

  it('refuses a spec.extract with neither or both of text and image', async () => {
    expect((await submit({}, 'spec.extract')).status).toBe(422);
    expect((await submit({ text: 'a', imageBase64: 'AAAA' }, 'spec.extract')).status).toBe(422);
    expect((await submit({ text: 'Size: 600 x 600 mm' }, 'spec.extract')).status).toBe(202);
  });
});
