/** Display helpers. */

export const shortHex = (h: string, keep = 6): string =>
  h.length <= 2 + keep * 2 ? h : `${h.slice(0, 2 + keep)}…${h.slice(-keep)}`;

const int = new Intl.NumberFormat('en');
export const formatInt = (v: string | number | bigint): string => {
  try {
    return int.format(BigInt(v));
  } catch {
    return String(v);
  }
};

export const formatNumber = (v: number, digits = 4): string =>
  Number.isFinite(v) ? v.toFixed(digits) : '—';

export const formatMs = (ms: number): string =>
  ms < 1000
    ? `${Math.round(ms)} ms`
    : ms < 60_000
      ? `${(ms / 1000).toFixed(1)} s`
      : `${(ms / 60_000).toFixed(1)} min`;

export const formatTime = (t: string | number): string => new Date(t).toLocaleString();
