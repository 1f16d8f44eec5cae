import { EventEmitter } from "node:events";

/** An EventBridge-shaped event, as the local adapters emit it. */
export interface LocalBusEvent {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
}

/**
 * Local mode's EventBridge: local adapters publish here what AWS services would publish, and the local
 * server routes each event to the same function that the deployed EventBridge rule targets.
 */
export class LocalEventBus {
  readonly #emitter = new EventEmitter();

  publish(event: LocalBusEvent): void {
    this.#emitter.emit("event", event);
  }

  subscribe(listener: (event: LocalBusEvent) => void): () => void {
    this.#emitter.on("event", listener);
    return () => this.#emitter.off("event", listener);
  }
}
