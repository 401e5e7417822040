/** Fault injection rules, as posted to POST /_sandbox/faults. */
export interface FaultSpec {
  /** Regular expression tested against the request path. */
  path: string;
  method?: string;
  /** Probability (0..1) that a matching request is hit. Defaults to 1. */
  rate?: number;
  /** Answer with this status instead of the real handler. */
  status?: number;
  /** Seconds for a Retry-After header (with status 429 or 503). */
  retryAfter?: number;
  /** Delay before answering (alone: the real answer, only slower). */
  latencyMs?: number;
  /** Drop the connection without an answer. */
  reset?: boolean;
  /** Never answer, so the client has to time out. */
  hang?: boolean;
  /** Only the next N matching requests are hit; then the rule retires. */
  count?: number;
  /**
   * Hit after the real handler ran: the change is committed, then the connection drops (`reset`)
   * or the answer is replaced (`status`). The client cannot tell whether its write happened,
   * which is how duplicates arise in the field.
   */
  afterHandler?: boolean;
}

/** A rule as GET /_sandbox/faults lists it: how many requests it has hit so far. */
export interface ListedFault extends FaultSpec {
  id: number;
  hits: number;
  remaining?: number;
}

interface ActiveFault extends FaultSpec {
  id: number;
  regex: RegExp;
  remaining: number;
  hits: number;
}

export class FaultInjector {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  add(spec: FaultSpec): number {
    if (!spec || typeof spec.path !== 'string') throw Object.assign(new Error('a fault needs a path regex'), { status: 400 });
    const id = this.nextId++;
    this.faults.push({
      ...spec,
      id,
      regex: new RegExp(spec.path),
      remaining: spec.count ?? Number.POSITIVE_INFINITY,
      hits: 0,
    });
    return id;
  }

  clear(): void {
    this.faults = [];
  }

  list(): ListedFault[] {
    return this.faults.map(({ regex: _regex, remaining, ...spec }) => ({ ...spec, remaining: Number.isFinite(remaining) ? remaining : undefined }));
  }

  /**
   * The first rule that hits this request, if any. Latency-only rules combine with a later
   * failing rule so that "slow server that sometimes fails" can be expressed as two rules.
   */
  match(method: string, path: string): FaultSpec | undefined {
    let latencyMs = 0;
    for (const fault of this.faults) {
      if (fault.remaining <= 0) continue;
      if (fault.method && fault.method.toUpperCase() !== method) continue;
      if (!fault.regex.test(path)) continue;
      if (Math.random() >= (fault.rate ?? 1)) continue;
      fault.remaining -= 1;
      fault.hits += 1;
      const failing = fault.status !== undefined || fault.reset || fault.hang;
      if (!failing) {
        latencyMs += fault.latencyMs ?? 0;
        continue;
      }
      return { ...fault, latencyMs: latencyMs + (fault.latencyMs ?? 0) };
    }
    this.faults = this.faults.filter((fault) => fault.remaining > 0);
    return latencyMs ? { path, latencyMs } : undefined;
  }
}
