import { pino, type Logger } from 'pino';

/**
 * JSON lines on stdout. Writes are buffered (4 KB, flushed at least every second and at exit):
 * one write syscall per request line halved the server's throughput. The audit trail lives in the
 * database, not here; a hard kill can lose at most the last buffer of access-log lines.
 */
export function createLogger(level: string): { log: Logger; flush(): void } {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const log = pino({ level, base: { svc: 'oa-server' } }, dest);
  const timer = setInterval(() => dest.flush(), 1000);
  timer.unref();
  return {
    log,
    flush: () => {
      try {
        dest.flushSync();
      } catch {
        // not ready yet (nothing written): nothing to flush
      }
    },
  };
}
