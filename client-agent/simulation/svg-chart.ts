/** A dependency-free SVG line chart (for the accuracy-per-round figure in the README). */

export interface Series {
  name: string;
  /** [x, y] points; y null is a gap. */
  points: readonly (readonly [number, number | null])[];
  color: string;
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceStep(span: number, ticks: number): number {
  const raw = span / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
}

export function lineChartSvg(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 420;
  const m = { l: 60, r: 180, t: 40, b: 50 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.flatMap((p) => (p[1] === null ? [] : [p[1]])));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y0 = o.yMin ?? Math.min(...ys);
  const y1 = o.yMax ?? Math.max(...ys);
  const px = (x: number) => m.l + ((x - x0) / Math.max(1e-9, x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / Math.max(1e-9, y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="22" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
  ];
  const ys_ = niceStep(y1 - y0, 6);
  for (let y = Math.ceil(y0 / ys_) * ys_; y <= y1 + 1e-9; y += ys_) {
    const v = Number(y.toFixed(6));
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${m.l - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`,
    );
  }
  const xs_ = Math.max(1, niceStep(x1 - x0, 10));
  for (let x = Math.ceil(x0 / xs_) * xs_; x <= x1 + 1e-9; x += xs_) {
    out.push(
      `<text x="${px(x).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${Number(x.toFixed(6))}</text>`,
    );
  }
  out.push(
    `<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const segs: string[] = [];
    let pen = 'M';
    for (const [x, y] of s.points) {
      if (y === null) {
        pen = 'M';
        continue;
      }
      segs.push(`${pen}${px(x).toFixed(1)},${py(y).toFixed(1)}`);
      pen = 'L';
    }
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(
      `<path d="${segs.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`,
    );
    const ly = m.t + 10 + i * 20;
    out.push(
      `<line x1="${W - m.r + 12}" x2="${W - m.r + 36}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${W - m.r + 42}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
