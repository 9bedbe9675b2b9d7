/**
 * The seed's MNIST training flow, typed.
 *
 * pypely's version (seeds/000): the training dependencies are created in the first step and are
 * needed again in the last one, to log the epochs, so they go into the pipeline's memory:
 *
 * ```python
 * run = pipeline(
 *     fork(_create_training_dependencies >> "training_dependencies", create_epoch_data),
 *     merge(run_epochs(NUM_EPOCHS)),
 *     _log_epochs << "training_dependencies",
 * )
 * ```
 *
 * Here the same flow is a memopipe pipeline: `.store("trainingDependencies")` remembers them and
 * `.ingestAfter("trainingDependencies")` hands them to the last step. Every hand-over is checked by
 * `tsc`: misspell the key, swap the parameters of `logEpochs`, or ingest into `createEpochData`
 * (marked `allowIngest: false`) and the file does not compile (see the end of this file).
 *
 * No data set can be downloaded here, so the "digits" are synthetic 8×8 images: ten prototype
 * strokes plus pixel noise, drawn from a seeded generator (the run is reproducible). The model is
 * a softmax regression trained with mini-batch SGD, in plain TypeScript.
 *
 * Run: `npm run example`.
 */
import { pathToFileURL } from "node:url";
import { pipe, memorizable, mulberry32 } from "memopipe"; // mulberry32: the seeded generator grids use

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------
export interface TrainingConfig {
  readonly seed: number;
  readonly samplesPerClass: number;
  readonly learningRate: number;
  readonly batchSize: number;
  readonly epochs: number;
}

export interface Dataset {
  readonly images: Float64Array[]; // 64 pixels each, in [0, 1]
  readonly labels: number[]; // 0..9
}

export interface EpochData {
  readonly train: Dataset;
  readonly test: Dataset;
}

const PIXELS = 64;
const CLASSES = 10;

/** Ten fixed 8×8 "strokes", one per digit class. */
function prototypes(seed: number): Float64Array[] {
  const rand = mulberry32(seed);
  return Array.from({ length: CLASSES }, () => Float64Array.from({ length: PIXELS }, () => (rand() < 0.3 ? 1 : 0)));
}

function draw(protos: Float64Array[], perClass: number, seed: number): Dataset {
  const rand = mulberry32(seed);
  const images: Float64Array[] = [];
  const labels: number[] = [];
  for (let n = 0; n < perClass; n++) {
    for (let label = 0; label < CLASSES; label++) {
      const proto = protos[label]!;
      images.push(proto.map((p) => Math.min(1, Math.max(0, p + (rand() - 0.5) * 3))));
      labels.push(label);
    }
  }
  return { images, labels };
}

/** Loads the train and test splits; async, as reading a data set from disk would be. */
async function loadSplit(config: TrainingConfig, split: "train" | "test"): Promise<Dataset> {
  await new Promise((resolve) => setImmediate(resolve));
  const perClass = split === "train" ? config.samplesPerClass : Math.ceil(config.samplesPerClass / 4);
  return draw(prototypes(config.seed), perClass, config.seed + (split === "train" ? 1 : 2));
}

// ---------------------------------------------------------------------------------------------
// Training dependencies: model, optimiser, loss
// ---------------------------------------------------------------------------------------------
export interface Model {
  readonly weights: Float64Array; // CLASSES × PIXELS
  readonly bias: Float64Array; // CLASSES
}

export interface TrainingDependencies {
  readonly config: TrainingConfig;
  readonly model: Model;
  readonly optimizer: { readonly name: "sgd"; readonly learningRate: number; readonly batchSize: number };
  readonly lossName: "cross-entropy";
  readonly createdAt: Date;
}

export interface EpochLog {
  readonly epoch: number;
  readonly loss: number;
  readonly testAccuracy: number;
}

function createTrainingDependencies(config: TrainingConfig): TrainingDependencies {
  const rand = mulberry32(config.seed + 3);
  return {
    config,
    model: {
      weights: Float64Array.from({ length: CLASSES * PIXELS }, () => (rand() - 0.5) * 0.01),
      bias: new Float64Array(CLASSES),
    },
    optimizer: { name: "sgd", learningRate: config.learningRate, batchSize: config.batchSize },
    lossName: "cross-entropy",
    createdAt: new Date(),
  };
}

/**
 * Creates the epoch data: itself a pipeline (a sub-pipeline, with its own memory) that loads both
 * splits concurrently (an async fork) and merges them. Marked `allowIngest: false`: it only
 * feeds on the current value.
 */
const createEpochData = memorizable(
  pipe<TrainingDependencies>()
    .step((deps) => deps.config)
    .fork(
      async (config) => loadSplit(config, "train"),
      async (config) => loadSplit(config, "test"),
    )
    .merge((train, test): EpochData => ({ train, test }))
    .build(),
  { allowIngest: false },
);

function probabilities(model: Model, image: Float64Array): Float64Array {
  const logits = new Float64Array(CLASSES);
  for (let c = 0; c < CLASSES; c++) {
    let z = model.bias[c]!;
    for (let p = 0; p < PIXELS; p++) z += model.weights[c * PIXELS + p]! * image[p]!;
    logits[c] = z;
  }
  const max = Math.max(...logits);
  const exp = logits.map((z) => Math.exp(z - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((e) => e / sum);
}

function accuracy(model: Model, data: Dataset): number {
  let right = 0;
  data.images.forEach((image, i) => {
    const p = probabilities(model, image);
    if (p.indexOf(Math.max(...p)) === data.labels[i]) right++;
  });
  return right / data.images.length;
}

/**
 * Trains for `epochs` epochs (pypely's `run_epochs(NUM_EPOCHS)`): the training dependencies come
 * from memory (ingested before the current value), the epoch data is the current value.
 */
export function runEpochs(deps: TrainingDependencies, data: EpochData): EpochLog[] {
  const { model, optimizer, config } = deps;
  const rand = mulberry32(config.seed + 4);
  const order = data.train.images.map((_, i) => i);
  const logs: EpochLog[] = [];
  for (let epoch = 1; epoch <= config.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let loss = 0;
    for (let start = 0; start < order.length; start += optimizer.batchSize) {
      const batch = order.slice(start, start + optimizer.batchSize);
      const gradW = new Float64Array(model.weights.length);
      const gradB = new Float64Array(CLASSES);
      for (const i of batch) {
        const image = data.train.images[i]!;
        const label = data.train.labels[i]!;
        const p = probabilities(model, image);
        loss -= Math.log(Math.max(p[label]!, 1e-12));
        for (let c = 0; c < CLASSES; c++) {
          const g = p[c]! - (c === label ? 1 : 0);
          gradB[c]! += g;
          for (let px = 0; px < PIXELS; px++) gradW[c * PIXELS + px]! += g * image[px]!;
        }
      }
      const step = optimizer.learningRate / batch.length;
      for (let k = 0; k < gradW.length; k++) model.weights[k]! -= step * gradW[k]!;
      for (let c = 0; c < CLASSES; c++) model.bias[c]! -= step * gradB[c]!;
    }
    logs.push({ epoch, loss: loss / order.length, testAccuracy: accuracy(model, data.test) });
  }
  return logs;
}

export interface TrainingReport {
  readonly optimizer: string;
  readonly epochs: readonly EpochLog[];
  readonly finalAccuracy: number;
  readonly seconds: number;
}

/** pypely's `log_epochs`: the epoch logs are the current value, the dependencies are ingested after it. */
export function logEpochs(logs: EpochLog[], deps: TrainingDependencies): TrainingReport {
  return {
    optimizer: `${deps.optimizer.name} (lr ${deps.optimizer.learningRate}, batch ${deps.optimizer.batchSize}) on ${deps.lossName}`,
    epochs: logs,
    finalAccuracy: logs.at(-1)?.testAccuracy ?? 0,
    seconds: (Date.now() - deps.createdAt.getTime()) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// The pipeline
// ---------------------------------------------------------------------------------------------
/** `(input: TrainingConfig) => Promise<TrainingReport>`: one step is async, so the pipeline is. */
export const train = pipe<TrainingConfig>()
  .step(createTrainingDependencies)
  .store("trainingDependencies")
  .step(createEpochData)
  .step(runEpochs)
  .ingestBefore("trainingDependencies")
  .step(logEpochs)
  .ingestAfter("trainingDependencies")
  .build();

export const defaultConfig: TrainingConfig = { seed: 7, samplesPerClass: 60, learningRate: 0.05, batchSize: 32, epochs: 6 };

async function main() {
  const report = await train(defaultConfig);
  console.log(`memopipe MNIST-style training: ${report.optimizer}`);
  for (const e of report.epochs) {
    console.log(`  epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, test accuracy ${(e.testAccuracy * 100).toFixed(1)}%`);
  }
  console.log(`final test accuracy ${(report.finalAccuracy * 100).toFixed(1)}% in ${report.seconds.toFixed(2)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}

// ---------------------------------------------------------------------------------------------
// What tsc refuses (each line below is a compile error; the message is in the comment)
// ---------------------------------------------------------------------------------------------
export function mistakes() {
  pipe<TrainingConfig>()
    .step(createTrainingDependencies)
    .store("trainingDependencies")
    .step(createEpochData)
    // @ts-expect-error memory key 'trainingDependency' was never stored in this pipeline (stored so far: 'trainingDependencies')
    .ingestAfter("trainingDependency");

  pipe<TrainingConfig>()
    .store("config")
    .step(createTrainingDependencies)
    .step(createEpochData)
    // @ts-expect-error this step was marked memorizable(f, { allowIngest: false }), so it cannot ingest memory key 'config' (allowIngest: false)
    .ingestAfter("config");

  pipe<TrainingConfig>()
    .step(createTrainingDependencies)
    .store("trainingDependencies")
    .step(() => [] as EpochLog[])
    .step(logEpochs)
    // @ts-expect-error memory key 'trainingDependencies' (an object) would be passed as this step's parameter 1, which expects an array
    .ingestBefore("trainingDependencies");
}
