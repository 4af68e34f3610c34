/** One live uPlot chart: a rolling window of points, one series per line. */
import uPlot from 'uplot';

const PALETTE = ['#a78bfa', '#f472b6', '#34d399', '#fbbf24', '#60a5fa', '#f87171', '#2dd4bf', '#c084fc'];
export const WINDOW_POINTS = 300;

export class LiveChart {
  readonly #plot: uPlot;
  readonly #data: number[][];
  readonly #observer: ResizeObserver;

  constructor(
    container: HTMLElement,
    readonly seriesNames: string[],
    format: (v: number) => string = formatNumber,
  ) {
    this.#data = [[], ...seriesNames.map(() => [])];
    const axis = {
      stroke: '#a39fbd',
      grid: { stroke: '#2c2745', width: 1 },
      ticks: { stroke: '#2c2745', width: 1 },
    };
    this.#plot = new uPlot(
      {
        width: Math.max(240, container.clientWidth),
        height: 180,
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          // always the last WINDOW_POINTS seconds, so a fresh chart fills up from the right
          x: { time: true, range: (_u, _min, max) => [max - WINDOW_POINTS, max] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
        },
        axes: [axis, { ...axis, size: 60, values: (_u, ticks) => ticks.map(format) }],
        series: [
          {},
          ...seriesNames.map((label, i) => ({
            label,
            stroke: PALETTE[i % PALETTE.length]!,
            width: 2,
            fill: seriesNames.length === 1 ? `${PALETTE[i % PALETTE.length]!}22` : undefined,
            points: { show: false },
          })),
        ],
      },
      this.#data as uPlot.AlignedData,
      container,
    );
    this.#observer = new ResizeObserver(() =>
      this.#plot.setSize({ width: Math.max(240, container.clientWidth), height: 180 }),
    );
    this.#observer.observe(container);
  }

  /** Adds one point per series at `ts` (ms); null leaves a gap. */
  push(ts: number, values: (number | null)[]): void {
    this.#data[0]!.push(ts / 1000);
    values.forEach((v, i) => this.#data[i + 1]!.push(v as number));
    if (this.#data[0]!.length > WINDOW_POINTS) for (const column of this.#data) column.shift();
    this.#plot.setData(this.#data as uPlot.AlignedData);
  }
}

/** p50 / p99 in one short string: "5 / 40 ms", "40 ms / 2.5 s". */
export function formatMsPair(a: number, b: number): string {
  if (a < 1000 && b < 1000) return `${Math.round(a)} / ${Math.round(b)} ms`;
  return `${formatMs(a)} / ${formatMs(b)}`;
}

export function formatMs(v: number): string {
  return v >= 1000 ? `${formatNumber(Math.round(v / 100) / 10)} s` : `${Math.round(v)} ms`;
}

export function formatNumber(v: number): string {
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
