// An answer whose body is all there when it is handed over (a string or
// bytes). The server counts it finished at once; any other answer (a stream)
// counts as in flight, and keeps its connection from being closed for
// waiting, until Deno reports it finished, which costs a promise a request.

export class FixedAnswer extends Response {}
