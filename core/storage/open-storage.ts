import type { KaiConfig } from '../config/load-config.ts';
import { StartupError } from '../errors.ts';
import { createDataDirStorage } from './data-dir-storage.ts';
import type { ObjectStorage } from './object-storage.ts';
import { createSupabaseStorage } from './supabase-storage.ts';

/**
 * The storage the config names: Supabase Storage (needs SUPABASE_URL and SUPABASE_KEY), or
 * files under KAI_DATA_DIR. `serverless` refuses the data dir: a function has no lasting disk.
 */
export function openStorage(config: KaiConfig, runtime: 'local' | 'serverless'): ObjectStorage {
  const { driver, bucket } = config.storage;
  if (driver === 'supabase') {
    const { url, serviceKey } = config.supabase;
    if (!url || !serviceKey) {
      throw new StartupError(
        'Kai cannot start: STORAGE_DRIVER=supabase needs SUPABASE_URL and SUPABASE_KEY.',
      );
    }
    return createSupabaseStorage({ url, serviceKey, bucket });
  }

  if (runtime === 'serverless') {
    throw new StartupError(
      'Kai on Vercel stores uploads in Supabase Storage: set SUPABASE_URL and SUPABASE_KEY.',
    );
  }
  return createDataDirStorage({ dataDir: config.dataDir, bucket });
}
