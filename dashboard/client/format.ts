export const speed = (value: number | null | undefined) => (value && value > 0 ? `${value.toFixed(2)}x` : "–");
export const ms = (value: number | undefined) => (value === undefined ? "–" : value >= 100 ? `${value.toFixed(0)} ms` : value >= 1 ? `${value.toFixed(2)} ms` : `${(value * 1000).toFixed(1)} µs`);
export const count = (value: number) => (value >= 1e6 ? `${(value / 1e6).toFixed(1)}M` : value >= 1e4 ? `${(value / 1e3).toFixed(1)}k` : String(value));
export const money = (value: number | null | undefined) => (value ? `$${value < 0.01 ? value.toFixed(4) : value.toFixed(2)}` : "$0");
export function duration(msValue: number): string {
  const seconds = Math.round(msValue / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}
export function ago(time: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - time) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return new Date(time).toISOString().slice(0, 10);
}
