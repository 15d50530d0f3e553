import type { Bindings } from 'pino';
import type { Logger } from './logger.ts';

/**
 * A child of `parent` with `bindings` that is only made when first used: what it logs is what
 * `parent.child(bindings)` would log. For a scope that often logs nothing, such as a request
 * whose route writes no line of its own: making a child serializes and redacts its bindings,
 * a few microseconds a request.
 */
export function lazyChild(parent: Logger, bindings: Bindings): Logger {
  let child: Logger | undefined;
  const made = (): Logger => {
    child ??= parent.child(bindings);
    return child;
  };
  return new Proxy({} as Logger, {
    get(_, key) {
      const logger = made();
      const value: unknown = Reflect.get(logger, key, logger);
      return typeof value === 'function' ? value.bind(logger) : value;
    },
    set(_, key, value) {
      return Reflect.set(made(), key, value);
    },
    has(_, key) {
      return key in made();
    },
  });
}
