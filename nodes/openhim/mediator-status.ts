/**
 * What a mediator-in node shows about its mediator: "registered · heartbeat ok 12s ago",
 * "registering…", "core unreachable (retrying)", or the reason registration fails.
 */
import type { NodeStatus } from 'node-red';
import type { MediatorState } from './api/mediator-session';

function ago(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes}m ago` : `${Math.round(minutes / 60)}h ago`;
}

const UNREACHABLE = new Set(['unreachable', 'timeout']);

export function describeMediatorState(state: MediatorState | undefined, now: number = Date.now()): NodeStatus {
  if (!state || (state.phase === 'registering' && !state.error)) return { fill: 'blue', shape: 'ring', text: 'registering…' };
  const heartbeat = state.lastHeartbeatAt === undefined ? '' : ` · heartbeat ok ${ago(now - state.lastHeartbeatAt)}`;
  if (state.phase === 'registered') return { fill: 'green', shape: 'dot', text: `registered${heartbeat}` };
  const code = state.error?.code ?? 'error';
  const reason = UNREACHABLE.has(code) ? 'core unreachable' : code === 'auth' ? 'core refused the credentials' : `${state.registered ? 'heartbeat' : 'registration'} failed: ${code}`;
  return { fill: 'red', shape: 'ring', text: `${reason} (retrying)${heartbeat}` };
}
