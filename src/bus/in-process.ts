import { BusTimeout, NoServer, RemoteError, type Bus, type Handlers } from './bus.ts';

type Log = { error(obj: object, msg: string): void };

/**
 * All-in-one transport. Arguments and results are structured-cloned so that code which works
 * here cannot depend on sharing objects, exactly as it could not over RabbitMQ; delivery is
 * asynchronous (next tick) for the same reason.
 */
export class InProcessBus implements Bus {
  private readonly servers = new Map<string, Handlers>();
  private readonly subscribers = new Map<string, Set<Handlers>>();
  private readonly log: Log;
  private closed = false;

  constructor(log: Log) {
    this.log = log;
  }

  async call<T>(topic: string, method: string, args: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
    const handler = this.handler(topic, method);
    const payload = structuredClone(args);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BusTimeout(`call ${topic}.${method} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const result = await Promise.race([Promise.resolve().then(() => handler(payload)), timeout]);
      return structuredClone(result) as T;
    } catch (e) {
      if (e instanceof BusTimeout) throw e;
      const err = e as Error;
      throw new RemoteError(err.constructor?.name ?? 'Error', err.message);
    } finally {
      clearTimeout(timer);
    }
  }

  cast(topic: string, method: string, args: unknown): void {
    const handler = this.handler(topic, method);
    this.deliver(`${topic}.${method}`, () => handler(structuredClone(args)));
  }

  fanout(topic: string, method: string, args: unknown): void {
    for (const handlers of this.subscribers.get(topic) ?? []) {
      const handler = handlers[method];
      if (handler) this.deliver(`${topic}.${method}`, () => handler(structuredClone(args)));
    }
  }

  serve(topic: string, handlers: Handlers): () => void {
    if (this.servers.has(topic)) throw new Error(`topic ${topic} already has a server`);
    this.servers.set(topic, handlers);
    return () => this.servers.delete(topic);
  }

  subscribe(topic: string, handlers: Handlers): () => void {
    const set = this.subscribers.get(topic) ?? new Set<Handlers>();
    set.add(handlers);
    this.subscribers.set(topic, set);
    return () => set.delete(handlers);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.servers.clear();
    this.subscribers.clear();
  }

  private handler(topic: string, method: string) {
    if (this.closed) throw new NoServer('bus is closed');
    const handler = this.servers.get(topic)?.[method];
    if (!handler) throw new NoServer(`no server for ${topic}.${method}`);
    return handler;
  }

  private deliver(what: string, fn: () => unknown): void {
    setImmediate(() => {
      Promise.resolve()
        .then(fn)
        .catch((e: unknown) => this.log.error({ err: e }, `cast ${what} failed`));
    });
  }
}
