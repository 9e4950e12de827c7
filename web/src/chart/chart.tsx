import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartProps {
  /** Everything but the size; a new object re-creates the chart (callers memoise it). */
  options: Omit<uPlot.Options, "width" | "height">;
  data: uPlot.AlignedData;
  /**
   * Bumped by callers that append to `data`'s columns in place (live series): the chart keeps its
   * canvas, axes and legend and only takes the new data, at most once per animation frame.
   */
  revision?: number;
  height?: number;
  /** What the chart shows, for screen readers. */
  label: string;
  testId?: string;
}

/** The one uPlot wrapper every chart goes through. */
export function Chart({ options, data, revision = 0, height = 280, label, testId }: ChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const pending = useRef<number | null>(null);
  const latest = useRef(data);
  latest.current = data;

  const markPoints = () => {
    const element = container.current;
    if (element) element.dataset.points = String(latest.current[0]?.length ?? 0);
  };

  useEffect(() => {
    const element = container.current!;
    const created = new uPlot({ ...options, width: Math.max(200, element.clientWidth), height }, latest.current, element);
    plot.current = created;
    markPoints();
    const resize = new ResizeObserver(() => created.setSize({ width: Math.max(200, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      if (pending.current !== null) cancelAnimationFrame(pending.current);
      pending.current = null;
      created.destroy();
      plot.current = null;
    };
  }, [options, height]);

  useEffect(() => {
    if (pending.current !== null) return;
    pending.current = requestAnimationFrame(() => {
      pending.current = null;
      plot.current?.setData(latest.current);
      markPoints();
    });
  }, [data, revision]);

  return <div class="chart" ref={container} role="img" aria-label={label} data-testid={testId} />;
}

/** Distinct, colour-blind-safe series colours (Okabe–Ito, then Tableau). */
export const SERIES_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1"];

export function colour(index: number): string {
  return SERIES_COLOURS[index % SERIES_COLOURS.length]!;
}

/** A translucent version of a series colour, for ± std bands. */
export function translucent(hex: string, alpha = 0.18): string {
  const value = parseInt(hex.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}
