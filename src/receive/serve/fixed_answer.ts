// Answers whose body is all there when they are handed over (a string or
// bytes). The server counts such an answer finished at once; any other answer
// (a stream) counts as in flight, and keeps its connection from being closed
// for waiting, until Deno reports it finished, which costs a promise a request.

const FIXED = Symbol("fixed answer");

type Marked = Response & { [FIXED]?: true };

/** An answer of a string or bytes, marked as such for the server. */
export function fixedAnswer(
  body: BodyInit | null,
  init: ResponseInit,
): Response {
  const answer: Marked = new Response(body, init);
  answer[FIXED] = true;
  return answer;
}

/**
 * Copies of one fixed answer, for an answer given over and over: a copy costs
 * less than half of building it anew, as Deno checks every header of an init.
 */
export function fixedAnswerCopies(
  body: string | null,
  init: ResponseInit,
): () => Response {
  const original = new Response(body, init);
  return () => {
    const copy: Marked = original.clone();
    copy[FIXED] = true;
    return copy;
  };
}

/** Whether `answer` was made by fixedAnswer (or is a copy of fixedAnswerCopies). */
export const isFixedAnswer = (answer: Response): boolean =>
  (answer as Marked)[FIXED] === true;
