// Benchmark charts: time series in stacked panels that share one time axis, as a self-contained SVG string.

/** One line of a panel. */
export interface Series {
  label: string;
  /**
   * [x, y] points in x order. A point whose y cannot be drawn (not finite, or ≤ 0 on a log axis: a window
   * without samples) breaks the line there.
   */
  points: ReadonlyArray<readonly [number, number]>;
  /** The palette colour (an index); series of one configuration (its p50 and p99) share one. */
  color?: number;
  dashed?: boolean;
}

/** A horizontal reference line across a panel, e.g. a goal or another configuration's figure. */
export interface Rule {
  y: number;
  label: string;
}

/** One panel: its own y axis, legend and series. */
export interface Panel {
  /** The y axis's label with its unit, e.g. "engine RSS (MB)". */
  yLabel: string;
  /** A log₁₀ y axis (the label should say so). */
  log?: boolean;
  series: Series[];
  rules?: Rule[];
}

export interface Chart {
  title: string;
  /** A second line under the title (the run's outcome, say). */
  subtitle?: string;
  /** The shared x axis's label with its unit. */
  xLabel: string;
  panels: Panel[];
}

const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"];
const WIDTH = 1000;
const LEFT = 80;
const LEGEND = 230;
const PLOT_W = WIDTH - LEFT - LEGEND;
/** Space above the first panel, besides the title's and the subtitle's lines. */
const TOP = 20;
const TITLE_LINE = 20;
const SUBTITLE_LINE = 16;
/** Characters per line of the title (bold, 15 px) and the subtitle (12 px) across the chart's width. */
const TITLE_CHARS = 110;
const SUBTITLE_CHARS = 155;
const PANEL_H = 230;
const GAP = 36;
const BOTTOM = 56;
/** Series with at most this many points get a marker on each. */
const MARKERS_UP_TO = 60;

/** Text and attribute values, escaped for XML. */
export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`,
  );
}

/** `s` broken at spaces into lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(s: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of s.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** A coordinate, rounded so that the output is short and the same on every run. */
function px(n: number): string {
  return Number(n.toFixed(1)).toString();
}

/** A tick label: at most 4 significant digits, no trailing zeros. */
function tickLabel(v: number): string {
  return Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-3)
    ? v.toExponential(1)
    : Number(v.toPrecision(4)).toString();
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * p;
}

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  /** Maps a value in [lo, hi] to [0, 1]. */
  at(v: number): number;
}

/** A linear axis from min(0, lo) to a round number at or above hi, with about five ticks. */
function linearAxis(lo: number, hi: number): Axis {
  let a = Math.min(0, lo);
  let b = hi;
  if (!(b > a)) b = a + 1;
  const step = niceStep((b - a) / 5);
  a = Math.floor(a / step + 1e-9) * step;
  b = Math.ceil(b / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; a + i * step <= b + step * 1e-9; i++) ticks.push(Number((a + i * step).toPrecision(12)));
  return { lo: a, hi: b, ticks, at: (v) => (v - a) / (b - a) };
}

/** A log₁₀ axis over whole decades around [lo, hi] (both > 0), ticks at 1, 2 and 5 per decade. */
function logAxis(lo: number, hi: number): Axis {
  const d0 = Math.floor(Math.log10(lo));
  const d1 = Math.max(d0 + 1, Math.ceil(Math.log10(hi)));
  const ticks: number[] = [];
  // Past four decades, 2 and 5 would crowd the axis: powers of ten only.
  const multiples = d1 - d0 > 4 ? [1] : [1, 2, 5];
  for (let d = d0; d <= d1; d++) {
    for (const m of multiples) if (m === 1 || d < d1) ticks.push(Number((m * 10 ** d).toPrecision(6)));
  }
  return { lo: 10 ** d0, hi: 10 ** d1, ticks, at: (v) => (Math.log10(v) - d0) / (d1 - d0) };
}

function drawable(y: number, log: boolean | undefined): boolean {
  return Number.isFinite(y) && (!log || y > 0);
}

/** The series's drawable points, split where an undrawable one breaks the line. */
function runs(s: Series, log: boolean | undefined): Array<Array<readonly [number, number]>> {
  const out: Array<Array<readonly [number, number]>> = [];
  let cur: Array<readonly [number, number]> = [];
  for (const p of s.points) {
    if (Number.isFinite(p[0]) && drawable(p[1], log)) cur.push(p);
    else if (cur.length) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

const colorOf = (s: Series, i: number) => PALETTE[(s.color ?? i) % PALETTE.length]!;
const dashOf = (s: Series) => (s.dashed ? ' stroke-dasharray="6 4"' : "");

/**
 * The chart as an SVG document. Deterministic: the same chart gives the same bytes. A panel with nothing
 * to draw says "no samples", and so does the legend entry of a series without points; a lone point (a
 * series of one, or one between gaps) is drawn as a dot.
 */
export function svgChart(chart: Chart): string {
  const panels = chart.panels;
  const titleLines = wrap(chart.title, TITLE_CHARS);
  const subtitleLines = wrap(chart.subtitle ?? "", SUBTITLE_CHARS);
  const top0 = TOP + 12 + titleLines.length * TITLE_LINE + subtitleLines.length * SUBTITLE_LINE;
  const axisY = top0 + panels.length * PANEL_H + Math.max(0, panels.length - 1) * GAP;
  const height = axisY + BOTTOM;
  const xs = panels
    .flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q[0])))
    .filter(Number.isFinite);
  const x = linearAxis(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1);
  const X = (v: number) => px(LEFT + x.at(v) * PLOT_W);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
  ];
  titleLines.forEach((line, i) => {
    out.push(
      `<text x="${LEFT}" y="${TOP + 4 + i * TITLE_LINE}" font-size="15" font-weight="bold">${escapeXml(line)}</text>`,
    );
  });
  subtitleLines.forEach((line, i) => {
    const y = TOP + 4 + titleLines.length * TITLE_LINE + i * SUBTITLE_LINE;
    out.push(`<text x="${LEFT}" y="${y}" fill="#444444">${escapeXml(line)}</text>`);
  });

  panels.forEach((panel, pi) => {
    const top = top0 + pi * (PANEL_H + GAP);
    const bottom = top + PANEL_H;
    const ys = [
      ...panel.series.flatMap((s) =>
        runs(s, panel.log)
          .flat()
          .map((q) => q[1]),
      ),
      ...(panel.rules ?? []).map((r) => r.y).filter((y) => drawable(y, panel.log)),
    ];
    const empty = panel.series.every((s) => runs(s, panel.log).length === 0);
    const y =
      panel.log && ys.length
        ? logAxis(Math.min(...ys), Math.max(...ys))
        : linearAxis(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1);
    const Y = (v: number) => px(bottom - y.at(v) * PANEL_H);
    const right = LEFT + PLOT_W;

    out.push(`<g class="panel">`);
    // Grid and ticks.
    for (const t of y.ticks) {
      out.push(
        `<line x1="${LEFT}" y1="${Y(t)}" x2="${right}" y2="${Y(t)}" stroke="#e4e4e4"/>`,
        `<text x="${LEFT - 6}" y="${Y(t)}" text-anchor="end" dominant-baseline="middle">${escapeXml(tickLabel(t))}</text>`,
      );
    }
    for (const t of x.ticks) {
      out.push(`<line x1="${X(t)}" y1="${top}" x2="${X(t)}" y2="${bottom}" stroke="#e4e4e4"/>`);
      if (pi === panels.length - 1) {
        out.push(
          `<text x="${X(t)}" y="${bottom + 16}" text-anchor="middle">${escapeXml(tickLabel(t))}</text>`,
        );
      }
    }
    out.push(
      `<rect x="${LEFT}" y="${top}" width="${PLOT_W}" height="${PANEL_H}" fill="none" stroke="#888888"/>`,
    );
    const midY = px(top + PANEL_H / 2);
    out.push(
      `<text x="18" y="${midY}" text-anchor="middle" transform="rotate(-90 18 ${midY})">${escapeXml(panel.yLabel)}</text>`,
    );

    // Reference lines under the series; their labels come after the series, over them.
    const rules = (panel.rules ?? []).filter((r) => drawable(r.y, panel.log)).sort((a, b) => b.y - a.y);
    for (const r of rules) {
      out.push(
        `<line x1="${LEFT}" y1="${Y(r.y)}" x2="${right}" y2="${Y(r.y)}" stroke="#555555" stroke-dasharray="2 3"/>`,
      );
    }

    // The series.
    panel.series.forEach((s, si) => {
      const color = colorOf(s, si);
      const parts = runs(s, panel.log);
      const count = parts.reduce((n, r) => n + r.length, 0);
      for (const run of parts) {
        if (run.length > 1) {
          const pts = run.map((q) => `${X(q[0])},${Y(q[1])}`).join(" ");
          out.push(
            `<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.8"${dashOf(s)}><title>${escapeXml(s.label)}</title></polyline>`,
          );
        }
        if (run.length === 1 || count <= MARKERS_UP_TO) {
          for (const q of run) out.push(`<circle cx="${X(q[0])}" cy="${Y(q[1])}" r="2.5" fill="${color}"/>`);
        }
      }
    });
    // Each rule's label at its right end: above the line, or below it when the label above would run into
    // the previous one's; a white halo keeps it readable over the series.
    let lastLabel = Number.NEGATIVE_INFINITY;
    for (const r of rules) {
      const ly = Number(Y(r.y));
      const labelY = ly - 4 - lastLabel < 14 ? ly + 14 : ly - 4;
      lastLabel = labelY;
      out.push(
        `<text x="${right - 4}" y="${px(labelY)}" text-anchor="end" fill="#333333" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(r.label)}</text>`,
      );
    }
    if (empty) {
      out.push(
        `<text x="${px(LEFT + PLOT_W / 2)}" y="${midY}" text-anchor="middle" font-size="14" fill="#888888">no samples</text>`,
      );
    }

    // Legend, to the right of the panel.
    panel.series.forEach((s, si) => {
      const ly = top + 12 + si * 18;
      const lx = right + 14;
      const none = runs(s, panel.log).length === 0 ? " (no samples)" : "";
      out.push(
        `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${colorOf(s, si)}" stroke-width="2"${dashOf(s)}/>`,
        `<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${escapeXml(s.label + none)}</text>`,
      );
    });
    out.push(`</g>`);
  });

  out.push(
    `<text x="${px(LEFT + PLOT_W / 2)}" y="${axisY + 40}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `</svg>`,
    "",
  );
  return out.join("\n");
}
