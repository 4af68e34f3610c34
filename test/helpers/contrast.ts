/**
 * WCAG 2 contrast of rendered text against what is actually behind it, from
 * computed styles: every ancestor's background colour and gradient layers
 * (sampled along their stops, since the text may sit anywhere on them) and
 * opacity, composited as the browser does. The worst case over the samples
 * is what counts.
 */

/** sRGB channels 0–255 and alpha 0–1. */
export type Rgba = readonly [number, number, number, number];

/** What of an element's computed style paints behind its text. */
export interface Layer {
  backgroundColor: string;
  backgroundImage: string;
  opacity: number;
  /** `background-clip: text`: the background paints the glyphs, not behind them. */
  clipText: boolean;
}

/** A piece of text as rendered: its colour, size and every box from the root down to its own. */
export interface RenderedText {
  what: string;
  color: string;
  fontSizePx: number;
  fontWeight: number;
  /** From the root element down to the text's own element. */
  chain: Layer[];
}

const TRANSPARENT: Rgba = [0, 0, 0, 0];
/** What shows behind everything when no box paints (never, on our pages: the body is opaque). */
const CANVAS: Rgba = [255, 255, 255, 1];
const COLOR = /rgba?\(([^)]*)\)|color\(srgb ([^)]*)\)|\btransparent\b/g;

/** Every colour in a computed value, in order (`rgb()`, `rgba()`, `color(srgb …)`, `transparent`). */
export function parseColors(css: string): Rgba[] {
  const out: Rgba[] = [];
  for (const m of css.matchAll(COLOR)) {
    if (m[1] !== undefined) {
      const [r = 0, g = 0, b = 0, a = 1] = m[1]
        .split(/[\s,/]+/)
        .filter(Boolean)
        .map(Number);
      out.push([r, g, b, a]);
    } else if (m[2] !== undefined) {
      const [r = 0, g = 0, b = 0, a = 1] = m[2]
        .split(/[\s/]+/)
        .filter(Boolean)
        .map(Number);
      out.push([r * 255, g * 255, b * 255, a]);
    } else out.push(TRANSPARENT);
  }
  return out;
}

/** `top` painted over `bottom` (source-over). */
export function over(top: Rgba, bottom: Rgba): Rgba {
  const a = top[3] + bottom[3] * (1 - top[3]);
  if (a === 0) return TRANSPARENT;
  const mix = (i: 0 | 1 | 2) => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a;
  return [mix(0), mix(1), mix(2), a];
}

const fade = (c: Rgba, opacity: number): Rgba => [c[0], c[1], c[2], c[3] * opacity];

/** Premultiplied interpolation, as CSS gradients interpolate. */
function lerp(x: Rgba, y: Rgba, t: number): Rgba {
  const a = x[3] * (1 - t) + y[3] * t;
  if (a === 0) return TRANSPARENT;
  const mix = (i: 0 | 1 | 2) => (x[i] * x[3] * (1 - t) + y[i] * y[3] * t) / a;
  return [mix(0), mix(1), mix(2), a];
}

/** The layers of a computed `background-image`, top first (split at top-level commas). */
export function imageLayers(image: string): string[] {
  if (image === 'none') return [];
  const layers: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < image.length; i++) {
    if (image[i] === '(') depth++;
    else if (image[i] === ')') depth--;
    else if (image[i] === ',' && depth === 0) {
      layers.push(image.slice(start, i).trim());
      start = i + 1;
    }
  }
  layers.push(image.slice(start).trim());
  return layers.filter((l) => l !== 'none');
}

/** One colour; throws for a value this module cannot read (rather than let it pass unchecked). */
export function parseColor(css: string): Rgba {
  const [c, ...rest] = parseColors(css);
  if (!c || rest.length > 0) throw new Error(`cannot read the colour ${css}`);
  return c;
}

/** Colours a gradient takes: its stops and four points between each two. */
export function gradientSamples(layer: string): Rgba[] {
  if (!/^(?:repeating-)?(?:linear|radial|conic)-gradient\(/.test(layer))
    throw new Error(`cannot read the background image ${layer}`);
  const stops = parseColors(layer);
  if (stops.length < 2) throw new Error(`cannot read the gradient ${layer}`);
  const out: Rgba[] = [];
  for (let i = 0; i + 1 < stops.length; i++) {
    for (const t of [0, 0.25, 0.5, 0.75]) out.push(lerp(stops[i]!, stops[i + 1]!, t));
  }
  out.push(stops[stops.length - 1]!);
  return out;
}

function unique(colors: Rgba[]): Rgba[] {
  const seen = new Map<string, Rgba>();
  for (const c of colors) seen.set(c.map((v) => v.toFixed(2)).join(','), c);
  return [...seen.values()];
}

/** The colours one box may paint at a point: its background colour under each sample of each image layer. */
function paints(layer: Layer): Rgba[] {
  if (layer.clipText) return [TRANSPARENT];
  let out = [parseColor(layer.backgroundColor)];
  for (const image of imageLayers(layer.backgroundImage).reverse()) {
    const samples = gradientSamples(image);
    out = unique(out.flatMap((below) => samples.map((s) => over(s, below))));
  }
  return out;
}

/**
 * Background and text colours at the same point, composited onto nothing, for
 * boxes `i`… of the chain: each box's opacity applies to it and all inside it.
 */
function composite(chain: Layer[], i: number, text: Rgba[]): { bg: Rgba; fg: Rgba }[] {
  if (i === chain.length) return text.map((fg) => ({ bg: TRANSPARENT, fg }));
  const layer = chain[i]!;
  const inner = composite(chain, i + 1, text);
  const out: { bg: Rgba; fg: Rgba }[] = [];
  for (const p of paints(layer)) {
    for (const c of inner) {
      out.push({ bg: fade(over(c.bg, p), layer.opacity), fg: fade(over(c.fg, p), layer.opacity) });
    }
  }
  const seen = new Map<string, { bg: Rgba; fg: Rgba }>();
  for (const o of out) seen.set([...o.bg, ...o.fg].map((v) => v.toFixed(1)).join(','), o);
  return [...seen.values()];
}

/** WCAG relative luminance of an opaque colour. */
export function luminance([r, g, b]: Rgba): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two opaque colours, 1 to 21. */
export function contrastRatio(x: Rgba, y: Rgba): number {
  const [hi, lo] = [luminance(x), luminance(y)].sort((a, b) => b - a) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** The lowest contrast of the text against what is behind it, anywhere it may sit. */
export function worstContrast(t: RenderedText): number {
  const own = t.chain[t.chain.length - 1];
  // gradient text (background-clip: text): the glyphs take the gradient's colours
  const text = own?.clipText
    ? imageLayers(own.backgroundImage).flatMap(gradientSamples)
    : [parseColor(t.color)];
  let worst = Infinity;
  // fg is the text already painted over every box behind it
  for (const { bg, fg } of composite(t.chain, 0, text)) {
    worst = Math.min(worst, contrastRatio(over(fg, CANVAS), over(bg, CANVAS)));
  }
  if (worst === Infinity) throw new Error(`no colours for ${t.what}`);
  return worst;
}

/** WCAG's large text: 24 px, or 18.66 px (14 pt) bold. */
export const isLargeText = (t: Pick<RenderedText, 'fontSizePx' | 'fontWeight'>): boolean =>
  t.fontSizePx >= 24 || (t.fontSizePx >= 18.66 && t.fontWeight >= 700);

/** The AA minimum for the text: 4.5:1, or 3:1 for large text. */
export const requiredContrast = (t: Pick<RenderedText, 'fontSizePx' | 'fontWeight'>): number =>
  isLargeText(t) ? 3 : 4.5;
