/**
 * Forward connector: hands what one pipeline exports to every pipeline that receives from it, each with
 * its own Payload over the same bytes (as a receiver feeding several pipelines), and resolves once all of
 * them accepted it.
 */
import type { Connector, Host } from '../../src/core/component.js';
import { FanOutConsumer, type Consumer } from '../../src/core/consumer.js';
import type { Payload } from '../../src/pdata/payload.js';

export class ForwardConnector implements Connector {
  private readonly fanOut: FanOutConsumer;

  constructor(next: ReadonlyMap<string, Consumer>) {
    this.fanOut = new FanOutConsumer([...next.values()], true);
  }

  async start(_host?: Host): Promise<void> {}
  async shutdown(): Promise<void> {}

  consume(payload: Payload): Promise<void> {
    return this.fanOut.consume(payload);
  }
}
