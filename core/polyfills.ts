// Promise.withResolvers arrived in Node 22; aws-local-stepfunctions 3 needs it and we run on Node 20.
// Pure (no I/O), so it may live in core and be imported by any entry point that runs the ASL engine.
const P = Promise as unknown as { withResolvers?: unknown };
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
export {};
