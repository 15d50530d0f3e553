import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../core/config/defaults.ts';
import { loadConfig } from '../core/config/load-config.ts';
import { StartupError } from '../core/errors.ts';

function startupMessage(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(StartupError);
    return (error as Error).message;
  }
  throw new Error('loadConfig accepted a wrong environment');
}

describe('loadConfig', () => {
  it('runs on defaults alone, on the embedded database', () => {
    const config = loadConfig({});

    expect(config.http).toEqual({ host: DEFAULTS.HOST, port: DEFAULTS.PORT });
    expect(config.database).toEqual({ driver: 'pglite', dataDir: DEFAULTS.KAI_DATA_DIR });
    expect(config.log.level).toBe('info');
    expect(config.shutdown.timeoutMs).toBe(DEFAULTS.SHUTDOWN_TIMEOUT_MS);
  });

  it('picks the server driver when DATABASE_URL is set', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://kai:pw@db.example:5432/kai' });

    expect(config.database).toMatchObject({ driver: 'postgres', prepare: true, poolMax: 10 });
  });

  it("turns prepared statements off for Supabase's transaction pooler unless told", () => {
    const pooler = 'postgres://u:pw@aws-0-eu.pooler.supabase.com:6543/postgres';

    expect(loadConfig({ DATABASE_URL: pooler }).database).toMatchObject({ prepare: false });
    expect(loadConfig({ DATABASE_URL: pooler, DATABASE_PREPARE: 'true' }).database).toMatchObject({
      prepare: true,
    });
  });

  it("reads the queue classes from KAI_QUEUES, defaulting to the operators' classes", () => {
    const custom = loadConfig({ KAI_QUEUES: '{"gpu":{"concurrency":3,"weight":2}}' });

    expect(loadConfig({}).queue.classes).toEqual({
      interactive: { concurrency: 5, weight: 10 },
      batch: { concurrency: 10, weight: 5 },
      maintenance: { concurrency: 2, weight: 1 },
    });
    expect(custom.queue.classes).toEqual({ gpu: { concurrency: 3, weight: 2 } });
  });

  it('reads the timeout of an input URL from INPUT_URL_TIMEOUT_MS, 30 s unless told', () => {
    expect(loadConfig({}).storage.inputUrlTimeoutMs).toBe(30_000);
    expect(loadConfig({ INPUT_URL_TIMEOUT_MS: '5000' }).storage.inputUrlTimeoutMs).toBe(5000);

    const message = startupMessage({ INPUT_URL_TIMEOUT_MS: '10' });
    expect(message).toContain('INPUT_URL_TIMEOUT_MS');
    expect(message).toContain('milliseconds from 100 to 600000');
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', LOG_LEVEL: '' });

    expect(config.http.port).toBe(DEFAULTS.PORT);
    expect(config.database.driver).toBe('pglite');
  });

  it.each([
    ['PORT', 'eighty', 'a TCP port'],
    ['PORT', '70000', 'a TCP port'],
    ['LOG_LEVEL', 'loud', 'one of fatal'],
    ['DATABASE_URL', 'mysql://u@h/db', 'postgres://'],
    ['DATABASE_URL', 'not a url', 'postgres://'],
    ['DATABASE_POOL_MAX', '0', 'connections'],
    ['DATABASE_PREPARE', 'maybe', 'true or false'],
    ['SHUTDOWN_TIMEOUT_MS', '-1', 'milliseconds'],
    ['KAI_QUEUES', '{"batch":', 'expects JSON'],
    ['KAI_QUEUES', '{"batch":{"concurrency":0,"weight":1}}', 'KAI_QUEUES.batch.concurrency'],
    ['KAI_QUEUES', '{}', 'at least one class'],
    ['JOB_LEASE_MS', '10', 'milliseconds'],
    ['BATCH_SIZE_LIMIT', '0', 'whole number'],
  ])('stops on %s=%s with one line naming it', (name, value, expected) => {
    const message = startupMessage({ [name]: value });

    expect(message).toContain(name);
    expect(message).toContain(expected);
    expect(message.split('\n')).toHaveLength(1);
  });

  it('names every wrong variable at once and never echoes a value', () => {
    const message = startupMessage({ PORT: 'x', DATABASE_URL: 'mysql://kai:hunter2@h/db' });

    expect(message).toContain('PORT');
    expect(message).toContain('DATABASE_URL');
    expect(message).not.toContain('hunter2');
  });
});
