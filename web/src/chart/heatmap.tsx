import { useEffect, useRef } from "preact/hooks";

export interface HeatmapMarker {
  x: number;
  y: number;
  label: string;
}

export interface HeatmapProps {
  xs: number[];
  ys: number[];
  /** values[j][i] is at (xs[i], ys[j]). */
  values: number[][];
  markers?: HeatmapMarker[];
  /** Compress the colour scale (losses span orders of magnitude near a plane's edges). */
  logScale?: boolean;
  height?: number;
  label: string;
  testId?: string;
}

/**
 * A grid of values as colours on a canvas, with labelled points: uPlot draws series over one x
 * axis and has no 2-D colour map, so loss-landscape planes are drawn here.
 */
export function Heatmap({ xs, ys, values, markers = [], logScale = true, height = 320, label, testId }: HeatmapProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const element = canvas.current!;
    const draw = () => {
      const width = Math.max(200, element.parentElement!.clientWidth);
      const ratio = globalThis.devicePixelRatio || 1;
      element.width = width * ratio;
      element.height = height * ratio;
      element.style.width = `${width}px`;
      element.style.height = `${height}px`;
      const context = element.getContext("2d")!;
      context.scale(ratio, ratio);
      paint(context, width, height, { xs, ys, values, markers, logScale });
    };
    draw();
    const resize = new ResizeObserver(draw);
    resize.observe(element.parentElement!);
    return () => resize.disconnect();
  }, [xs, ys, values, markers, logScale, height]);
  return (
    <div class="heatmap" role="img" aria-label={label} data-testid={testId} data-cells={String(xs.length * ys.length)}>
      <canvas ref={canvas} />
    </div>
  );
}

const MARGIN = { left: 56, right: 70, top: 10, bottom: 36 };

function paint(context: CanvasRenderingContext2D, width: number, height: number, data: Required<Pick<HeatmapProps, "xs" | "ys" | "values" | "markers" | "logScale">>): void {
  const { xs, ys, values, markers, logScale } = data;
  const transform = (v: number) => (logScale ? Math.log10(Math.max(v, 1e-12)) : v);
  const flat = values.flat().filter(Number.isFinite).map(transform);
  const low = Math.min(...flat);
  const high = Math.max(...flat);
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const [x0, x1] = [xs[0]!, xs.at(-1)!];
  const [y0, y1] = [ys[0]!, ys.at(-1)!];
  const px = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const py = (y: number) => MARGIN.top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  const cellW = plotW / xs.length;
  const cellH = plotH / ys.length;
  context.clearRect(0, 0, width, height);
  ys.forEach((_, j) =>
    xs.forEach((_, i) => {
      const t = high === low ? 0 : (transform(values[j]![i]!) - low) / (high - low);
      context.fillStyle = viridis(t);
      context.fillRect(MARGIN.left + i * cellW, MARGIN.top + plotH - (j + 1) * cellH, cellW + 0.5, cellH + 0.5);
    }),
  );
  context.fillStyle = "#374151";
  context.font = "11px system-ui, sans-serif";
  context.textAlign = "center";
  for (const x of [x0, (x0 + x1) / 2, x1]) context.fillText(x.toPrecision(3), px(x), height - MARGIN.bottom + 14);
  context.fillText("x (distance along u)", MARGIN.left + plotW / 2, height - 6);
  context.textAlign = "right";
  for (const y of [y0, (y0 + y1) / 2, y1]) context.fillText(y.toPrecision(3), MARGIN.left - 6, py(y) + 4);
  for (const marker of markers) {
    context.beginPath();
    context.arc(px(marker.x), py(marker.y), 5, 0, 2 * Math.PI);
    context.fillStyle = "#ffffff";
    context.fill();
    context.lineWidth = 2;
    context.strokeStyle = "#111827";
    context.stroke();
    context.fillStyle = "#ffffff";
    context.font = "bold 11px system-ui, sans-serif";
    // Labels of points near the right edge go to their left, inside the plot.
    const leftward = px(marker.x) + 8 + context.measureText(marker.label).width > MARGIN.left + plotW;
    context.textAlign = leftward ? "right" : "left";
    context.fillText(marker.label, px(marker.x) + (leftward ? -8 : 8), py(marker.y) - 6);
  }
  // Colour bar.
  const barX = width - MARGIN.right + 14;
  for (let k = 0; k < plotH; k++) {
    context.fillStyle = viridis(1 - k / plotH);
    context.fillRect(barX, MARGIN.top + k, 12, 1.5);
  }
  context.fillStyle = "#374151";
  context.textAlign = "left";
  context.font = "11px system-ui, sans-serif";
  const shown = (v: number) => (logScale ? 10 ** v : v).toPrecision(3);
  context.fillText(shown(high), barX + 15, MARGIN.top + 9);
  context.fillText(shown(low), barX + 15, MARGIN.top + plotH);
}

/** A few stops of matplotlib's viridis, interpolated: perceptually even and colour-blind safe. */
const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

function viridis(t: number): string {
  const clamped = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(clamped));
  const f = clamped - i;
  const [a, b] = [VIRIDIS[i]!, VIRIDIS[i + 1]!];
  return `rgb(${a.map((v, k) => Math.round(v + (b[k]! - v) * f)).join(",")})`;
}
