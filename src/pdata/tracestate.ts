/**
 * The W3C `tracestate` header value and its OpenTelemetry `ot` member (`ot=rv:<14 hex>;th:<1-14 hex>`),
 * parsed and written back as the collector's pkg/sampling does: `ot` first, then the other members in their
 * order; within `ot`, `rv`, then `th`, then other sub-keys.
 */

const MEMBER_RE =
  /^([a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})=([\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e])$/;
const OT_RE = /^[a-z][a-z0-9]*:[a-zA-Z0-9._-]*(?:;[a-z][a-z0-9]*:[a-zA-Z0-9._-]*)*$/;
const MAX_MEMBERS = 32;
const MAX_OT_LENGTH = 256;

export class TraceState {
  /** `rv` as written (14 hex digits), or '' when absent. */
  rv = '';
  /** `th` as written (1..14 hex digits), or '' when absent. */
  th = '';
  /** Other `ot` sub-keys, `key:value`, in order. */
  otExtra: string[] = [];
  /** Members other than `ot`, `key=value`, in order. */
  others: string[] = [];

  /** Parses a tracestate; returns an error text (and leaves a partial state) when it is malformed. */
  parse(raw: string): string | undefined {
    this.rv = this.th = '';
    this.otExtra.length = 0;
    this.others.length = 0;
    if (raw.length === 0) return undefined;
    let seenOt = false;
    let count = 0;
    for (const part of raw.split(',')) {
      const member = part.replace(/^[ \t]+|[ \t]+$/g, '');
      if (member === '') continue;
      if (++count > MAX_MEMBERS) return 'tracestate has more than 32 members';
      const m = MEMBER_RE.exec(member);
      if (!m) return `tracestate member "${member}" is malformed`;
      if (m[1] !== 'ot') {
        this.others.push(member);
        continue;
      }
      if (seenOt) return 'tracestate has two ot members';
      seenOt = true;
      const err = this.parseOt(m[2]!);
      if (err) return err;
    }
    return undefined;
  }

  private parseOt(value: string): string | undefined {
    if (value.length > MAX_OT_LENGTH) return 'the ot tracestate value is longer than 256 characters';
    if (!OT_RE.test(value)) return `the ot tracestate value "${value}" is malformed`;
    for (const kv of value.split(';')) {
      const colon = kv.indexOf(':');
      const key = kv.slice(0, colon);
      const v = kv.slice(colon + 1);
      if (key === 'rv') {
        if (!/^[0-9a-f]{14}$/i.test(v)) return `rv "${v}" must have 14 hex digits`;
        this.rv = v;
      } else if (key === 'th') {
        if (!/^[0-9a-f]{1,14}$/i.test(v)) return `th "${v}" must have 1 to 14 hex digits`;
        this.th = v;
      } else this.otExtra.push(kv);
    }
    return undefined;
  }

  serialize(): string {
    const ot: string[] = [];
    if (this.rv !== '') ot.push(`rv:${this.rv}`);
    if (this.th !== '') ot.push(`th:${this.th}`);
    ot.push(...this.otExtra);
    const members = ot.length > 0 ? [`ot=${ot.join(';')}`, ...this.others] : this.others;
    return members.join(',');
  }
}
