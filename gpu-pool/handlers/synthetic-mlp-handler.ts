import { Tensor } from 'onnxruntime-node';
import { JOB_TYPES } from '../../core/jobs/job-types.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import type { JobHandler } from './handler.ts';

type MlpPayload = { input: number[] };

/**
 * Runs the generated `synthetic-mlp` model on a batch in one `session.run`: the jobs' input
 * vectors stacked into one [batch, width] tensor, the output split back row by row.
 */
export const syntheticMlpHandler: JobHandler<MlpPayload, LoadedModel> = {
  jobType: JOB_TYPES.get('synthetic.mlp') as JobHandler<MlpPayload>['jobType'],

  async run(jobs, { model }) {
    if (!model) throw new Error('The synthetic-mlp model is not loaded.');
    const inputName = model.manifest.inputs[0]?.name ?? 'input';
    const outputName = model.manifest.outputs[0]?.name ?? 'output';
    const width = jobs[0]?.payload.input.length ?? 0;

    const stacked = new Float32Array(jobs.length * width);
    jobs.forEach((job, row) => {
      stacked.set(job.payload.input, row * width);
    });
    const outputs = await model.run({
      [inputName]: new Tensor('float32', stacked, [jobs.length, width]),
    });

    const output = outputs[outputName];
    if (!output) throw new Error(`The model answered without its output ${outputName}.`);
    const values = output.data as Float32Array;
    const outputWidth = values.length / jobs.length;
    return jobs.map((_, row) => ({
      ok: true as const,
      result: { output: Array.from(values.subarray(row * outputWidth, (row + 1) * outputWidth)) },
    }));
  },
};
