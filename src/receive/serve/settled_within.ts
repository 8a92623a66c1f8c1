// Whether a piece of work finished before a deadline, with the runtime's own
// timeout (AbortSignal.timeout) in place of a hand-written timer: a shutdown
// waits so for its connections, and gives up on them when the grace period is
// over.

/** Resolves true once `work` settles within `ms`, false when `ms` pass first; rejects as `work` does. */
export function settledWithin(
  work: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  const late = AbortSignal.timeout(Math.max(0, ms));
  return new Promise<boolean>((resolve, reject) => {
    const giveUp = () => resolve(false);
    late.addEventListener("abort", giveUp, { once: true });
    const done = () => late.removeEventListener("abort", giveUp);
    work.then(() => {
      done();
      resolve(true);
    }, (error) => {
      done();
      reject(error);
    });
  });
}
