/**
 * Scenario 4's load driver, as a Node-RED node loaded only into the bench's userDir: keeps a window
 * of messages in flight through the mapper and answers the starting HTTP request with the elapsed
 * time and per-message latencies. A plain node rather than two function nodes, whose sandboxed
 * `vm` calls cost as much per message as the mapper being measured.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

interface Run {
  n: number;
  sent: number;
  received: number;
  latencies: number[];
  started: number;
  form: Record<string, unknown>;
  reply: NodeMessage;
  /** The first mapped payload, for the harness to check that the mapper really mapped. */
  sample?: unknown;
}

export const MAPPER_DRIVER_TYPE = 'chis-bench-mapper-driver';

export default function register(RED: NodeAPI): void {
  function MapperDriver(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    let run: Run | undefined;
    const next = (current: Run): void => {
      current.sent += 1;
      this.send([{ payload: { id: current.sent, form: { ...current.form } }, sentAt: Date.now() } as NodeMessage, null]);
    };
    this.on('input', (msg: NodeMessage & { req?: unknown; res?: unknown; sentAt?: number }, _send: unknown, done: () => void) => {
      if (msg.req) {
        const body = msg.payload as { count: number; window: number; form: { form: Record<string, unknown> } };
        const current: Run = { n: body.count, sent: 0, received: 0, latencies: [], started: Date.now(), form: body.form.form, reply: { req: msg.req, res: msg.res } as NodeMessage };
        run = current;
        for (let i = 0; i < Math.min(body.window, current.n); i += 1) next(current);
      } else if (run) {
        run.received += 1;
        run.sample ??= msg.payload;
        run.latencies.push(Date.now() - (msg.sentAt ?? 0));
        if (run.received === run.n) {
          this.send([null, { ...run.reply, payload: { elapsedMs: Date.now() - run.started, latencies: run.latencies, sample: run.sample } }]);
          run = undefined;
        } else if (run.sent < run.n) {
          next(run);
        }
      }
      done();
    });
  }
  RED.nodes.registerType(MAPPER_DRIVER_TYPE, MapperDriver);
}

/** The files that make Node-RED load the driver from `<userDir>/nodes`. */
export function mapperDriverFiles(): Record<string, string> {
  return {
    'bench-mapper-driver.js': `module.exports = require(${JSON.stringify(__filename)}).default;\n`,
    'bench-mapper-driver.html': `<script type="text/javascript">RED.nodes.registerType('${MAPPER_DRIVER_TYPE}', { category: 'bench', color: '#ddd', defaults: { name: { value: '' } }, inputs: 1, outputs: 2, label: function () { return this.name || 'mapper driver'; } });</script>\n`,
  };
}
