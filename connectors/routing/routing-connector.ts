/**
 * Routing connector: sends each resource of a request (context `resource`) or the whole request
 * (context `request`, by request metadata such as a tenant header) to the pipelines of the routes whose
 * condition holds, else to default_pipelines. Routing never decodes records: the request's ResourceX
 * fields are found on the wire, only each Resource message (a few attributes) is decoded for the
 * conditions, and a resource goes on as the bytes it arrived as. When every resource goes the same way
 * the request goes on whole, not copied. The sender is answered once every pipeline it went to accepted.
 */
import { fromBinary } from '@bufbuild/protobuf';
import type { Connector, ConnectorPlace, CreateSettings, Host } from '../../src/core/component.js';
import type { Consumer } from '../../src/core/consumer.js';
import { PermanentError, combineErrors, componentLabel, messageOf } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import { forEachField } from '../../src/pdata/wire.js';
import { varintSize, writeVarint } from '../../src/processorhelper/wire-edit.js';
import { compileCondition, type CompiledCondition } from '../../src/ottl/compile.js';
import { newEvalContext, type EvalContext } from '../../src/ottl/paths.js';
import { ResourceSchema } from '../../proto/gen/opentelemetry/proto/resource/v1/resource_pb.js';
import type { RoutingConnectorConfig } from './config.js';

interface Route {
  condition: CompiledCondition;
  /** Bit set of the pipelines (indexes into `targets`) it sends to. */
  mask: bigint;
  perRequest: boolean;
}

export class RoutingConnector implements Connector {
  private readonly routes: Route[];
  private readonly targets: Consumer[];
  private readonly defaultMask: bigint;
  /** Every route reads only request metadata: one decision per request, no walk. */
  private readonly perRequestOnly: boolean;
  private readonly ctx: EvalContext = newEvalContext();
  private readonly holder: { resource: unknown } = { resource: undefined };

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: RoutingConnectorConfig,
    private readonly place: ConnectorPlace,
    next: ReadonlyMap<string, Consumer>,
  ) {
    const ids = [...next.keys()];
    this.targets = ids.map((id) => next.get(id)!);
    const maskOf = (pipelines: readonly string[]): bigint => {
      let m = 0n;
      for (const p of pipelines) {
        const i = ids.indexOf(p);
        if (i >= 0) m |= 1n << BigInt(i);
      }
      return m;
    };
    this.routes = config.table.map((r) => ({
      condition: compileCondition(r.text, 'resource', place.from, r.condition),
      mask: maskOf(r.pipelines),
      perRequest: r.context === 'request',
    }));
    this.defaultMask = maskOf(config.default_pipelines);
    this.perRequestOnly = this.routes.every((r) => r.perRequest);
    this.ctx.resource = this.holder;
  }

  async start(_host?: Host): Promise<void> {}
  async shutdown(): Promise<void> {}

  /** The pipelines (bit set) for the item in ctx. */
  private decide(): bigint {
    let mask = 0n;
    for (const r of this.routes) {
      let hit: boolean;
      try {
        hit = r.condition.eval(this.ctx);
      } catch (err) {
        if (this.config.error_mode === 'propagate')
          throw new PermanentError(`${componentLabel(this.settings)}: failed to evaluate "${r.condition.text}": ${messageOf(err)}`, {
            cause: err,
            code: 'GS_PROCESSOR_FAILED',
          });
        if (this.config.error_mode === 'ignore')
          this.settings.logger.warn('routing condition failed; using default_pipelines (error_mode ignore)', {
            condition: r.condition.text,
            error: messageOf(err),
          });
        return this.defaultMask;
      }
      if (!hit) continue;
      mask |= r.mask;
      if (this.config.match_once) break;
    }
    return mask === 0n ? this.defaultMask : mask;
  }

  consume(payload: Payload): Promise<void> {
    let sends: Promise<void>[];
    try {
      this.ctx.meta = payload.meta;
      sends = this.perRequestOnly ? this.sendWhole(payload, this.decide()) : this.routeResources(payload);
    } catch (err) {
      return Promise.reject(err);
    } finally {
      this.ctx.meta = undefined;
      this.holder.resource = undefined;
    }
    if (sends.length === 1) return sends[0]!;
    return Promise.allSettled(sends).then((results) => {
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (errors.length > 0) throw combineErrors(errors);
    });
  }

  private sendWhole(payload: Payload, mask: bigint): Promise<void>[] {
    const out: Promise<void>[] = [];
    let first = true;
    for (let i = 0; i < this.targets.length; i++) {
      if (!(mask & (1n << BigInt(i)))) continue;
      // Each pipeline gets its own Payload over the same bytes (its processors may edit it).
      out.push(this.targets[i]!.consume(first && countBits(mask) === 1 ? payload : payload.clone()));
      first = false;
    }
    return out;
  }

  private routeResources(payload: Payload): Promise<void>[] {
    const bytes = payload.bytes;
    const ranges: number[] = [];
    const masks: bigint[] = [];
    forEachField(bytes, 0, bytes.length, 1, (s, e) => {
      let rs = -1;
      let re = -1;
      forEachField(bytes, s, e, 1, (a, b) => {
        rs = a;
        re = b;
      });
      this.holder.resource = rs < 0 ? undefined : fromBinary(ResourceSchema, bytes.subarray(rs, re));
      ranges.push(s, e);
      masks.push(this.decide());
    });
    if (masks.length === 0) return [];
    if (masks.every((m) => m === masks[0])) return this.sendWhole(payload, masks[0]!);
    const out: Promise<void>[] = [];
    for (let i = 0; i < this.targets.length; i++) {
      const bit = 1n << BigInt(i);
      let size = 0;
      let items = 0;
      for (let k = 0; k < masks.length; k++) {
        if (!(masks[k]! & bit)) continue;
        const len = ranges[2 * k + 1]! - ranges[2 * k]!;
        size += 1 + varintSize(len) + len;
        items++;
      }
      if (items === 0) continue;
      const buf = new Uint8Array(size);
      let p = 0;
      for (let k = 0; k < masks.length; k++) {
        if (!(masks[k]! & bit)) continue;
        const s = ranges[2 * k]!;
        const e = ranges[2 * k + 1]!;
        buf[p++] = 0x0a; // field 1 (resource_logs / resource_spans / resource_metrics), length-delimited
        p = writeVarint(buf, p, e - s);
        buf.set(bytes.subarray(s, e), p);
        p += e - s;
      }
      out.push(this.targets[i]!.consume(new Payload(this.place.from, buf, { meta: payload.meta as Record<string, string> | undefined })));
    }
    return out;
  }
}

function countBits(m: bigint): number {
  let n = 0;
  for (; m > 0n; m >>= 1n) if (m & 1n) n++;
  return n;
}
