import { readdirSync, readFileSync } from 'node:fs';

/** CPU time spent over one measured span, split between this process and the local server. */
export interface CpuSpent {
  /** This process: the system's client library, its workers and the bench's handlers. */
  processMs: number;
  /** Every `postgres` process of this machine; null when the server is not local. */
  serverMs: number | null;
}

/** A running measurement; `stop` answers what was spent since `startCpuSplit`. */
export interface CpuSplit {
  stop(): CpuSpent;
}

/** Linux counts process CPU in clock ticks of 10 ms (USER_HZ 100, as on every usual build). */
const TICK_MS = 10;

/**
 * Starts measuring CPU time: this process's (`process.cpuUsage`) and, when the server is on
 * this machine and /proc can be read, that of its `postgres` processes. Which side spends the
 * time tells a queue bound by its SQL from one bound by its client.
 *
 * Limitation: every `postgres` process counts, so the split is only meaningful on a server that
 * nothing else uses meanwhile; and a backend that ends during the span takes its time with it.
 */
export function startCpuSplit(serverUrl: string): CpuSplit {
  const process0 = process.cpuUsage();
  const server0 = isLocal(serverUrl) ? serverTicks() : null;

  return {
    stop() {
      const used = process.cpuUsage(process0);
      const server1 = server0 === null ? null : serverTicks();
      return {
        processMs: (used.user + used.system) / 1000,
        serverMs: server0 === null || server1 === null ? null : (server1 - server0) * TICK_MS,
      };
    },
  };
}

function isLocal(serverUrl: string): boolean {
  const host = new URL(serverUrl).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '';
}

/** User and system ticks of every process named `postgres`; null without a readable /proc. */
function serverTicks(): number | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }

  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile, or not ours to read
    }
    if (!stat.includes(' (postgres) ')) continue;
    // Fields after the command: state is the 3rd field of stat, utime and stime the 14th and
    // 15th, so 11 and 12 places after the state.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks;
}
