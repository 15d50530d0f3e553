import {
  type PatternMatchPayload,
  patternMatchJobType,
} from '../../core/catalog/pattern-match-job-type.ts';
import { type JobImageBytes, jobImageBytes } from '../images/job-image-bytes.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { clipPairOf, encodeImages, encodeTexts } from '../pattern/clip-model.ts';
import { rankMatches } from '../pattern/rank-matches.ts';
import { fatal, type JobHandler, type JobOutcome } from './handler.ts';

/**
 * Runs `pattern.match` on a batch: every image of every job goes through the image encoder in
 * one `session.run`, every text through the text encoder in one more, then each job ranks its
 * candidates by cosine similarity (with CLIP's softmax over the logit-scaled similarities). An
 * image-to-text job's image is inline or its input, read through the context's reader. A job
 * with an image or input that cannot be read fails alone, with its stable code.
 */
export const patternMatchHandler: JobHandler<PatternMatchPayload, LoadedModel> = {
  jobType: patternMatchJobType,

  async run(jobs, context) {
    const { model } = context;
    if (!model) throw new Error('The pattern-clip model is not loaded.');
    const pair = await clipPairOf(model);

    // The images of image-to-text jobs, inline or read from their inputs, concurrently.
    const sources = await Promise.all(
      jobs.map((job): Promise<JobImageBytes> | undefined =>
        job.payload.direction === 'image-to-text'
          ? jobImageBytes(job, job.payload, context)
          : undefined,
      ),
    );

    // Every image and text of the batch, with the job and place each belongs to.
    const images: Uint8Array[] = [];
    const texts: string[] = [];
    const slots = jobs.map((job, j) => {
      const payload = job.payload;
      const imageStart = images.length;
      const textStart = texts.length;
      const source = sources[j];
      if (payload.direction === 'image-to-text') {
        if (source?.ok) {
          images.push(source.bytes);
          texts.push(...payload.texts);
        }
      } else {
        images.push(...payload.imagesBase64.map((image) => Buffer.from(image, 'base64')));
        texts.push(payload.text);
      }
      return { imageStart, imageEnd: images.length, textStart, textEnd: texts.length };
    });

    // A batch whose every input failed runs no encoder.
    const imageEmbeds = images.length > 0 ? await encodeImages(pair, images) : [];
    const textEmbeds = texts.length > 0 ? await encodeTexts(pair, texts) : [];

    return jobs.map((job, j): JobOutcome => {
      const source = sources[j];
      if (source && !source.ok) return source.outcome;
      const slot = slots[j] as (typeof slots)[number];
      const own = imageEmbeds.slice(slot.imageStart, slot.imageEnd);
      const failed = own.findIndex((encoding) => !encoding.ok);
      const failure = own[failed];
      if (failure && !failure.ok) {
        const which = job.payload.direction === 'text-to-image' ? `imagesBase64[${failed}]: ` : '';
        return fatal(failure.error.code, `${which}${failure.error.message}`);
      }
      const vectors = own.map((encoding) =>
        encoding.ok ? encoding.embedding : new Float32Array(),
      );
      const ownTexts = textEmbeds.slice(slot.textStart, slot.textEnd);
      const meta = { model: model.name, version: model.version };

      if (job.payload.direction === 'image-to-text') {
        const ranked = rankMatches(
          vectors[0] as Float32Array,
          ownTexts,
          pair.settings.logitScale,
          job.payload.topK,
        );
        const candidates = job.payload.texts;
        return {
          ok: true,
          result: {
            direction: 'image-to-text',
            ranking: ranked.map((r) => ({ ...r, text: candidates[r.index] })),
            ...meta,
          },
        };
      }
      const ranked = rankMatches(
        ownTexts[0] as Float32Array,
        vectors,
        pair.settings.logitScale,
        job.payload.topK,
      );
      return { ok: true, result: { direction: 'text-to-image', ranking: ranked, ...meta } };
    });
  },
};
