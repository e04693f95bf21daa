// The message bus: call (request/response), cast (fire and forget) and fanout (every
// subscriber). Services and agents talk through this interface only, so the in-process
// transport used by all-in-one mode can be swapped for RabbitMQ (amqplib) in multi-node.

export type Handler = (args: unknown) => unknown;
export type Handlers = Record<string, Handler>;

export interface Bus {
  /** Calls `method` on the server of `topic` and waits for its answer (or its error). */
  call<T>(topic: string, method: string, args: unknown, opts?: { timeoutMs?: number }): Promise<T>;
  /** Sends without waiting; errors are the server's to log. */
  cast(topic: string, method: string, args: unknown): void;
  /** Delivers to every subscriber of `topic` (e.g. cache invalidations). */
  fanout(topic: string, method: string, args: unknown): void;
  /** Serves `topic` (one server per topic; call/cast go to it). Returns an unsubscribe. */
  serve(topic: string, handlers: Handlers): () => void;
  /** Subscribes to fanouts of `topic`. Returns an unsubscribe. */
  subscribe(topic: string, handlers: Handlers): () => void;
  close(): Promise<void>;
}

export class BusTimeout extends Error {}
export class NoServer extends Error {}
export class RemoteError extends Error {
  readonly remoteName: string;
  constructor(name: string, message: string) {
    super(message);
    this.remoteName = name;
  }
}
