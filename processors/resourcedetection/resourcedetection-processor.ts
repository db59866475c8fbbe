/**
 * Resource detection processor: detects host and environment attributes once at start and adds them to
 * every resource. Only the Resource bytes of each request are rebuilt (src/processorhelper/wire-edit.ts); records are
 * copied as received, and a request whose resources already carry the detected values goes on untouched.
 */
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import type { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { AttrList, FIELD, KEEP, RequestWalker, encodeAnyValue, utf8 } from '../../src/processorhelper/wire-edit.js';
import type { ResourceDetectionProcessorConfig } from './config.js';
import { detect, type DetectOptions, type Detected } from './detectors.js';
import { editAndForward, wireContext, type WireProcessorContext } from '../../src/processorhelper/wire-processor.js';
import type { WireEditor } from '../../src/processorhelper/offload.js';
import { CodedError, componentLabel } from '../../src/core/errors.js';

export class ResourceDetectionProcessor implements Processor {
  private readonly wire: WireProcessorContext;
  private walker: RequestWalker | undefined;
  /** The edit: detected attributes on each resource (cheap per request, so it stays on the event loop). */
  private readonly editor: WireEditor = { edit: (bytes) => this.walker?.walk(this.signal, bytes) };
  private keys: Uint8Array[] = [];
  private values: Uint8Array[] = [];
  /** What was detected at start (for logs and tests). */
  detected: Detected = new Map();

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: ResourceDetectionProcessorConfig,
    private readonly signal: Signal,
    next: Consumer,
    private readonly detectOptions: DetectOptions = {},
  ) {
    this.wire = wireContext(settings, signal, next);
  }

  async start(_host?: Host): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CodedError(
              'GS_COMPONENT_START_FAILED',
              `${componentLabel(this.settings)}: detection took longer than timeout (${this.config.timeout}ms); raise timeout or remove a detector`,
            ),
          ),
        this.config.timeout,
      );
    });
    try {
      this.detected = await Promise.race([detect(this.config, { logger: this.settings.logger, ...this.detectOptions }), timeout]);
    } finally {
      clearTimeout(timer);
    }
    this.settings.logger.info('resource attributes detected', { processor: this.settings.id.id, attributes: Object.fromEntries(this.detected) });
    // Keys and values are encoded once; the walk copies them into each resource that needs them.
    this.keys = [...this.detected.keys()].map(utf8);
    this.values = [...this.detected.values()].map((v) => encodeAnyValue(v));
    this.walker = this.keys.length === 0 ? undefined : this.makeWalker();
  }

  private makeWalker(): RequestWalker {
    const attrs = new AttrList();
    const { keys, values } = this;
    const override = this.config.override;
    return new RequestWalker({
      // A resource absent from the wire is visited too (empty range); returning bytes inserts it.
      resource: (r) => {
        attrs.load(r.buf, r.start, r.end, FIELD.resourceAttributes);
        for (let k = 0; k < keys.length; k++) {
          const i = attrs.indexOf(keys[k]!);
          if (i < 0) attrs.append(keys[k]!, values[k]!);
          else if (override && Buffer.compare(attrs.value(i), values[k]!) !== 0) attrs.set(i, values[k]!);
        }
        return attrs.build() ?? KEEP;
      },
    });
  }

  consume(payload: Payload): Promise<void> {
    return editAndForward(this.wire, payload, this.editor);
  }

  async shutdown(): Promise<void> {}
}
