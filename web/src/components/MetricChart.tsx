/**
 * Validation metric per round as a uPlot line chart, with the same points as a table for screen
 * readers. uPlot is loaded with the first chart (only the bounty page draws one).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatNumber } from '../format.js';
import type { MetricSeries } from '../metrics.js';

/** The colour scheme in force; the chart is drawn on a canvas, which CSS colours do not reach. */
const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');

function useDark(): boolean {
  const query = darkQuery;
  const [dark, setDark] = useState(query.matches);
  useEffect(() => {
    const on = () => setDark(query.matches);
    query.addEventListener('change', on);
    return () => query.removeEventListener('change', on);
  }, [query]);
  return dark;
}

export function MetricChart({
  series,
  kind = 'chart',
}: {
  series: MetricSeries;
  /** CSS class of the plot: `chart` for the scored metric, another for companion charts. */
  kind?: string;
}) {
  const el = useRef<HTMLDivElement>(null);
  const dark = useDark();
  const label = `validation ${series.metric}`;
  useEffect(() => {
    const host = el.current;
    if (!host || series.points.length === 0) return;
    const fg = getComputedStyle(host).color;
    const grid = { stroke: dark ? 'rgba(255,255,255,0.12)' : 'rgba(0,0,0,0.08)', width: 1 };
    const axis = { stroke: fg, grid, ticks: grid };
    const data: uPlot.AlignedData = [
      series.points.map((p) => p.round),
      series.points.map((p) => p.value),
    ];
    let plot: uPlot | undefined;
    let gone = false;
    const resize = () => plot?.setSize({ width: Math.max(280, host.clientWidth), height: 240 });
    void import('uplot').then(({ default: UPlot }) => {
      if (gone) return;
      plot = new UPlot(
        {
          width: Math.max(280, host.clientWidth),
          height: 240,
          scales: { x: { time: false } },
          axes: [
            { ...axis, label: 'round', incrs: [1, 2, 5, 10, 20, 50] },
            { ...axis, label, size: 60 },
          ],
          series: [
            { label: 'round', value: (_u, v) => (v === null ? '—' : String(v)) },
            {
              label,
              stroke: dark ? '#4fb3c4' : '#1f7a8c',
              width: 2,
              points: { size: 8, fill: dark ? '#4fb3c4' : '#1f7a8c' },
              value: (_u, v) => (v === null ? '—' : formatNumber(v)),
            },
          ],
        },
        data,
        host,
      );
      host.dataset.drawn = String(series.points.length);
    });
    window.addEventListener('resize', resize);
    return () => {
      gone = true;
      window.removeEventListener('resize', resize);
      plot?.destroy();
    };
  }, [series, dark]);
  if (series.points.length === 0) {
    return (
      <p class="muted">No scored round yet: the chart gains a point as each round is scored.</p>
    );
  }
  return (
    <figure>
      <div ref={el} class={kind} data-points={series.points.length} aria-hidden="true" />
      <figcaption>
        <details>
          <summary>{label} per round as a table</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">round</th>
                <th scope="col">{label}</th>
              </tr>
            </thead>
            <tbody>
              {series.points.map((p) => (
                <tr key={p.round}>
                  <td>{p.round === 0 ? '0 (initial model)' : p.round}</td>
                  <td>{formatNumber(p.value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  );
}
