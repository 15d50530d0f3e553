import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/logging/logger.ts';

/** One model folder and its version folders. */
export interface FoundModel {
  name: string;
  /** Folders named by digits only, in ascending numeric order. */
  versions: string[];
}

/**
 * Lists the model folders of `modelDir` (sorted, dot folders skipped) with their numeric
 * version folders. Never throws: a missing or unreadable `modelDir` is one warn line and an
 * empty list, an unreadable model folder a model without versions.
 */
export async function scanModelDir(modelDir: string, logger: Logger): Promise<FoundModel[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(modelDir, { withFileTypes: true });
  } catch (error) {
    logger.warn(
      { modelDir, error: (error as Error).message },
      `No models served: the model directory ${modelDir} cannot be read; set MODEL_DIR or run npm run build:models.`,
    );
    return [];
  }

  const found: FoundModel[] = [];
  const modelNames = entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  for (const name of modelNames) {
    const inside = await readdir(join(modelDir, name), { withFileTypes: true }).catch(() => []);
    const versions = inside
      .filter((entry) => entry.isDirectory() && /^\d+$/.test(entry.name))
      .map((entry) => entry.name)
      .sort((a, b) => compareVersions(a, b));
    found.push({ name, versions });
  }
  return found;
}

function compareVersions(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference === 0n ? a.localeCompare(b) : difference < 0n ? -1 : 1;
}
