/** Every consolidation job kind and its spec; the type makes a new JobKind without a spec a compile error. */
import type { JobKind } from '../../store/job-store.js';
import type { JobSpec, JobSpecs } from '../job-spec.js';
import { forgetJob } from './forget-job.js';
import { portraitJob, selfConceptJob } from './portrait-job.js';
import { rollingJob } from './rolling-job.js';
import { summaryJob } from './summary-job.js';

export const jobSpecs: JobSpecs = {
  summary: summaryJob,
  portrait: portraitJob,
  self_concept: selfConceptJob,
  rolling: rollingJob,
  forget: forgetJob,
};

/** The spec of a job's kind, for code that handles every kind alike (the runner, the wait for unloaded characters). */
export function specOf(job: { readonly kind: JobKind }): JobSpec {
  return jobSpecs[job.kind];
}
