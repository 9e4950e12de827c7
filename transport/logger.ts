/** Where the transport reports what it rejected or retried; servers and workers pass their own. */
export interface TransportLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const consoleTransportLogger: TransportLogger = {
  info: (message) => console.log(`[transport] ${message}`),
  warn: (message) => console.warn(`[transport] ${message}`),
  error: (message) => console.error(`[transport] ${message}`),
};

export const silentTransportLogger: TransportLogger = { info: () => {}, warn: () => {}, error: () => {} };
