/**
 * The benchmark's result rows: one per scenario and latency setting, with the keys issue #11
 * fixes for bench/results/latest.json, and the table printed by `npm run bench`.
 */
import fs from 'node:fs';
import path from 'node:path';

export const RESULT_KEYS = [
  'scenario', 'msgs_per_s', 'p50_ms', 'p99_ms', 'peak_rss_mb', 'limit_msgs_per_s', 'ratio_to_limit', 'peer_msgs_per_s', 'ratio_to_peer',
] as const;

export interface BenchResult {
  scenario: string;
  msgs_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  peak_rss_mb: number | null;
  /** The raw keep-alive HTTP client doing the same requests (or the same work) without Node-RED. */
  limit_msgs_per_s: number | null;
  ratio_to_limit: number | null;
  /** OpenFn's adaptors doing the same work, one job per message; null where they cannot. */
  peer_msgs_per_s: number | null;
  ratio_to_peer: number | null;
}

export interface Measurement {
  scenario: string;
  msgsPerSecond: number;
  latenciesMs?: number[];
  peakRssMb?: number | null;
  limitMsgsPerSecond?: number | null;
  peerMsgsPerSecond?: number | null;
}

/** The value at quantile q (0..1) of the values, nearest-rank; null when there are none. */
export function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

const round = (value: number | null | undefined, digits: number): number | null => {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

const ratio = (ours: number, theirs: number | null | undefined): number | null => (theirs ? round(ours / theirs, 2) : null);

export function toResult(measurement: Measurement): BenchResult {
  const latencies = measurement.latenciesMs ?? [];
  return {
    scenario: measurement.scenario,
    msgs_per_s: round(measurement.msgsPerSecond, 1) ?? 0,
    p50_ms: round(percentile(latencies, 0.5), 3),
    p99_ms: round(percentile(latencies, 0.99), 3),
    peak_rss_mb: round(measurement.peakRssMb, 1),
    limit_msgs_per_s: round(measurement.limitMsgsPerSecond, 1),
    ratio_to_limit: ratio(measurement.msgsPerSecond, measurement.limitMsgsPerSecond),
    peer_msgs_per_s: round(measurement.peerMsgsPerSecond, 1),
    ratio_to_peer: ratio(measurement.msgsPerSecond, measurement.peerMsgsPerSecond),
  };
}

const HEADINGS: Record<(typeof RESULT_KEYS)[number], string> = {
  scenario: 'Scenario',
  msgs_per_s: 'msgs/s',
  p50_ms: 'p50 ms',
  p99_ms: 'p99 ms',
  peak_rss_mb: 'peak RSS MB',
  limit_msgs_per_s: 'raw limit msgs/s',
  ratio_to_limit: 'ratio to limit',
  peer_msgs_per_s: 'OpenFn msgs/s',
  ratio_to_peer: 'ratio to OpenFn',
};

/** A markdown table, readable in a terminal and pasteable into the README. */
export function formatTable(results: BenchResult[]): string {
  const cell = (value: unknown): string => (value === null || value === undefined ? '–' : String(value));
  const lines = [
    `| ${RESULT_KEYS.map((key) => HEADINGS[key]).join(' | ')} |`,
    `|${RESULT_KEYS.map((key) => (key === 'scenario' ? ' --- ' : ' ---: ')).join('|')}|`,
    ...results.map((result) => `| ${RESULT_KEYS.map((key) => cell(result[key])).join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function writeResults(file: string, results: BenchResult[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const rows = results.map((result) => Object.fromEntries(RESULT_KEYS.map((key) => [key, result[key]])));
  fs.writeFileSync(file, `${JSON.stringify(rows, null, 2)}\n`);
}
