import { Buffer } from 'node:buffer';
import { protocol } from '@electric-sql/pglite';

/** A column of a prepared statement's rows, as its row description named and typed it. */
export interface WireColumn {
  name: string;
  typeId: number;
}

/** Turns a column's text into its value (PGlite's parser for the column's type). */
export type WireParser = (text: string, typeId: number) => unknown;

const CODE_BIND = 0x42;
const CODE_DATA_ROW = 0x44;
const CODE_COMMAND_COMPLETE = 0x43;
const CODE_ERROR = 0x45;
const CODE_NOTIFICATION = 0x41;

/** Execute of the unnamed portal, all rows: pg-protocol's own, the same bytes every time. */
const EXECUTE = protocol.serialize.execute();

/**
 * Bind of the prepared statement `statement` to the unnamed portal with `values` in text (null
 * for SQL null), rows asked for in text, followed by its Execute: the bytes pg-protocol's
 * `serialize.bind` and `serialize.execute` write for text values, in one buffer sized up front.
 */
export function bindAndExecute(statement: string, values: readonly (string | null)[]): Uint8Array {
  const count = values.length;
  // length, the unnamed portal, the statement's name, the format codes (text), the values,
  // one result format code (text).
  let length = 4 + 1 + Buffer.byteLength(statement) + 1 + 2 + 2 * count + 2 + 2 + 2;
  const sizes: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const value = values[i];
    sizes[i] = value === null || value === undefined ? -1 : Buffer.byteLength(value);
    length += 4 + Math.max(sizes[i] as number, 0);
  }

  const out = Buffer.allocUnsafe(1 + length + EXECUTE.length);
  let at = 0;
  out[at++] = CODE_BIND;
  at = out.writeInt32BE(length, at);
  out[at++] = 0;
  at += out.write(statement, at);
  out[at++] = 0;
  at = out.writeInt16BE(count, at);
  out.fill(0, at, at + 2 * count);
  at += 2 * count;
  at = out.writeInt16BE(count, at);
  for (let i = 0; i < count; i++) {
    const size = sizes[i] as number;
    at = out.writeInt32BE(size, at);
    if (size > 0) at += out.write(values[i] as string, at);
  }
  at = out.writeInt16BE(1, at);
  at = out.writeInt16BE(0, at);
  out.set(EXECUTE, at);
  return out;
}

/** What one run of statements answered, read from the backend's bytes. */
export interface WireResults {
  /** Each statement's rows, in order, up to the first that failed. */
  rows: Record<string, unknown>[][];
  /** The first error the backend sent, as PGlite's own `DatabaseError`; undefined if none. */
  error: Error | undefined;
  /** The notifications delivered with the answer, in order. */
  notifications: { channel: string; payload: string }[];
}

/**
 * Reads the backend's answer to a run of bind-and-executes and a sync: a statement's rows end
 * at its command completion, and each column's text goes through `parserOf(typeId)`, as
 * `PGlite.query` parses it (a column without a parser stays text). Rows are read straight from
 * the bytes: PGlite's own protocol parser copies every field into a buffer of its own first,
 * which is most of the cost of reading a row of many columns. Only an error is handed to that
 * parser, so that it is the very error `PGlite.query` would throw.
 */
export function readResults(
  bytes: Uint8Array,
  columnsOf: readonly (readonly WireColumn[] | undefined)[],
  parserOf: (typeId: number) => WireParser | undefined,
): WireResults {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const results: WireResults = { rows: [], error: undefined, notifications: [] };
  let statement = 0;
  let rows: Record<string, unknown>[] = [];
  let parsers = parsersOf(columnsOf[0], parserOf);
  let failed = false;

  let at = 0;
  while (at + 5 <= buffer.length) {
    const code = buffer[at] as number;
    const end = at + 1 + buffer.readUInt32BE(at + 1);
    let p = at + 5;
    if (code === CODE_DATA_ROW) {
      const columns = columnsOf[statement] ?? [];
      const row: Record<string, unknown> = {};
      const count = buffer.readInt16BE(p);
      p += 2;
      for (let i = 0; i < count; i++) {
        const size = buffer.readInt32BE(p);
        p += 4;
        const column = columns[i];
        const name = column?.name ?? `?column?${i}`;
        if (size < 0) {
          row[name] = null;
          continue;
        }
        const text = buffer.toString('utf8', p, p + size);
        p += size;
        const parse = parsers[i];
        row[name] = parse && column ? parse(text, column.typeId) : text;
      }
      rows.push(row);
    } else if (code === CODE_COMMAND_COMPLETE) {
      results.rows.push(rows);
      rows = [];
      statement += 1;
      parsers = parsersOf(columnsOf[statement], parserOf);
    } else if (code === CODE_ERROR) {
      failed = true;
    } else if (code === CODE_NOTIFICATION) {
      p += 4; // the sending backend's process id
      const channelEnd = buffer.indexOf(0, p);
      const payloadEnd = buffer.indexOf(0, channelEnd + 1);
      results.notifications.push({
        channel: buffer.toString('utf8', p, channelEnd),
        payload: buffer.toString('utf8', channelEnd + 1, payloadEnd),
      });
    }
    // Everything else (bind and close completions, parameter statuses, notices, the ready for
    // query) says nothing a run's caller needs.
    at = end;
  }

  if (failed) results.error = firstError(bytes);
  return results;
}

function parsersOf(
  columns: readonly WireColumn[] | undefined,
  parserOf: (typeId: number) => WireParser | undefined,
): (WireParser | undefined)[] {
  return (columns ?? []).map((column) => parserOf(column.typeId));
}

/** The first error message of `bytes`, parsed by PGlite's protocol parser. */
function firstError(bytes: Uint8Array): Error {
  let error: Error | undefined;
  new protocol.Parser().parse(bytes, (message) => {
    if (error === undefined && message.name === 'error') error = message as unknown as Error;
  });
  return error ?? new Error('PGlite answered with an error message that could not be read.');
}
