// Waiting that an AbortSignal can cut short (rejecting with the signal's reason), for the
// backends' polling loops. A wait that ends on time takes its abort listener back, so a loop that
// sleeps many times on one signal leaves none behind.
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
