// The scales the bench runs the agent at: a small cluster, and a large one
// (100 000 models) where memory and time per message show.

import type { ScaleOptions } from "../../tests/fixtures/scheduler_double.ts";

/** 1 000 models, 100 servers, 100 pipelines, 10 experiments. */
export const SMALL: ScaleOptions = {
  models: 1_000,
  servers: 100,
  replicas: 3,
  pipelines: 100,
  experiments: 10,
  modelPadding: 100,
};

/** 100 000 models, 10 000 servers, 10 000 pipelines, 1 000 experiments. */
export const LARGE: ScaleOptions = {
  models: 100_000,
  servers: 10_000,
  replicas: 3,
  pipelines: 10_000,
  experiments: 1_000,
  modelPadding: 100,
};
