import type { JobHandler } from './handler.ts';
import { materialClassifyHandler } from './material-classify-handler.ts';
import { noopHandler } from './noop-handler.ts';
import { ocrExtractHandler } from './ocr-extract-handler.ts';
import { patternMatchHandler } from './pattern-match-handler.ts';
import { specExtractHandler } from './spec-extract-handler.ts';
import { syntheticMlpHandler } from './synthetic-mlp-handler.ts';
import { textureEmbedHandler } from './texture-embed-handler.ts';

/** Every handler the pool runs, one per job type of `core/jobs/job-types.ts`. */
export const ALL_HANDLERS: readonly JobHandler[] = [
  noopHandler as JobHandler,
  syntheticMlpHandler as JobHandler,
  ocrExtractHandler as JobHandler,
  specExtractHandler as JobHandler,
  textureEmbedHandler as JobHandler,
  materialClassifyHandler as JobHandler,
  patternMatchHandler as JobHandler,
];
