// lazyChild: a request's logger that is made only when something logs through it, and then
// writes what `parent.child(bindings)` writes. claimsOf: computed once for a frozen caller.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Auth } from '../core/auth/caller.ts';
import { claimsOf } from '../core/auth/user-scope.ts';
import { lazyChild } from '../core/logging/lazy-child.ts';
import { createLogger, type Logger } from '../core/logging/logger.ts';

function capturing(level: string): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}

const withoutTime = ({ time: _time, ...rest }: Record<string, unknown>) => rest;

describe('lazyChild', () => {
  it('writes what the eager child writes, bindings, redaction and grandchildren included', () => {
    const lazy = capturing('trace');
    const eager = capturing('trace');
    const bindings = { requestId: 'r-1' };
    const failure = new Error('boom');
    const log = (logger: Logger) => {
      logger.info({ jobId: 'j-1', token: 'secret-token' }, 'job submitted');
      logger.debug('plain message');
      logger.child({ jobId: 'j-2' }).warn({ attempt: 2 }, 'retried');
      logger.error(failure);
    };
    log(lazyChild(lazy.logger, bindings));
    log(eager.logger.child(bindings));

    expect(lazy.lines).toHaveLength(4);
    expect(lazy.lines.map(withoutTime)).toEqual(eager.lines.map(withoutTime));
    expect(JSON.stringify(lazy.lines)).not.toContain('secret-token');
    expect(lazy.lines[2]).toMatchObject({ requestId: 'r-1', jobId: 'j-2', attempt: 2 });
  });

  it('makes no child until it is used, and one child however often it is used', () => {
    const { logger } = capturing('info');
    let children = 0;
    const parent = new Proxy(logger, {
      get(target, key, receiver) {
        if (key !== 'child') return Reflect.get(target, key, receiver);
        return (...args: Parameters<Logger['child']>) => {
          children += 1;
          return target.child(...args);
        };
      },
    });

    const lazy = lazyChild(parent, { requestId: 'r-2' });
    expect(children).toBe(0);
    lazy.info('one');
    lazy.info('two');
    expect(lazy.level).toBe('info');
    expect(lazy.isLevelEnabled('debug')).toBe(false);
    expect(lazy.bindings()).toEqual(logger.child({ requestId: 'r-2' }).bindings());
    expect(children).toBe(1);
  });

  it('follows a level set on it, as the child would', () => {
    const { logger, lines } = capturing('info');
    const lazy = lazyChild(logger, { requestId: 'r-3' });
    lazy.level = 'debug';
    lazy.debug('shown');
    expect(lines.map((line) => line.msg)).toEqual(['shown']);
    expect(logger.level).toBe('info');
  });
});

describe('claimsOf', () => {
  const subject = '7d0b5a4e-7f77-4c83-8f0b-9d0c1b9b8f1a';

  it('pins sub and role whatever the claims say', () => {
    const auth: Auth = {
      subject,
      kind: 'api_key',
      scopes: ['jobs:read'],
      claims: { sub: 'someone-else', role: 'service_role', api_key_id: 'k1' },
    };
    expect(JSON.parse(claimsOf(auth))).toEqual({
      sub: subject,
      role: 'authenticated',
      api_key_id: 'k1',
    });
  });

  it('reads a caller that can change anew each time, and a frozen one once', () => {
    const mutable: Auth = { subject, kind: 'jwt', scopes: ['*'], claims: { aal: 'aal1' } };
    expect(JSON.parse(claimsOf(mutable)).aal).toBe('aal1');
    mutable.claims.aal = 'aal2';
    expect(JSON.parse(claimsOf(mutable)).aal).toBe('aal2');

    const frozen: Auth = Object.freeze({
      subject,
      kind: 'jwt',
      scopes: ['*'],
      claims: Object.freeze({ aal: 'aal1' }),
    });
    const first = claimsOf(frozen);
    expect(claimsOf(frozen)).toBe(first);
    expect(JSON.parse(first)).toEqual({ aal: 'aal1', sub: subject, role: 'authenticated' });
  });
});
