/**
 * The model a sponsor offers, built in the page with tfjs (loaded only when a bounty is created):
 * the same built-in architectures as `tributary bounty create --model` (client-agent/training
 * model.ts) and the same spec assembly (client-agent/training/bounty-spec.ts), on tfjs's cpu
 * backend, which is enough to build a model and read its weight shapes.
 */
import type { SpecOptions, BuiltSpec } from '../../../client-agent/training/bounty-spec.js';

export type ModelChoice = { kind: 'linear'; features: number; classes: number } | { kind: 'cnn' };

/** What the CNN takes: 28x28x1 images (784 features per row of a CSV), 10 classes. */
export const CNN_INPUT = [28, 28, 1];
export const CNN_CLASSES = 10;

export async function buildBountySpec(choice: ModelChoice, o: SpecOptions): Promise<BuiltSpec> {
  const [tf, model, bountySpec] = await Promise.all([
    import('@tensorflow/tfjs'),
    import('../../../client-agent/training/model.js'),
    import('../../../client-agent/training/bounty-spec.js'),
  ]);
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  await tf.ready();
  const architecture =
    choice.kind === 'cnn'
      ? model.smallCnnArchitecture(CNN_INPUT, CNN_CLASSES)
      : model.linearArchitecture(choice.features, choice.classes);
  const built = await model.buildModel(architecture);
  try {
    return bountySpec.specFromModel(architecture, built, o);
  } finally {
    built.dispose();
  }
}
