/** The contrast checker the page tests rely on (test/helpers/contrast.ts), against known WCAG values. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  contrastRatio,
  gradientSamples,
  imageLayers,
  parseColor,
  requiredContrast,
  worstContrast,
  type Layer,
  type RenderedText,
} from '../helpers/contrast.js';

const box = (backgroundColor: string, extra: Partial<Layer> = {}): Layer => ({
  backgroundColor,
  backgroundImage: 'none',
  opacity: 1,
  clipText: false,
  ...extra,
});
const text = (color: string, chain: Layer[], fontSizePx = 16, fontWeight = 400): RenderedText => ({
  what: 'text',
  color,
  fontSizePx,
  fontWeight,
  chain,
});
const near = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 0.01, `${actual} is not ${expected}`);

test('contrast ratios of opaque colours match WCAG', () => {
  near(contrastRatio([0, 0, 0, 1], [255, 255, 255, 1]), 21);
  near(contrastRatio([255, 255, 255, 1], [255, 255, 255, 1]), 1);
  // #767676 on white: the lightest grey that passes AA for normal text
  near(contrastRatio([0x76, 0x76, 0x76, 1], [255, 255, 255, 1]), 4.54);
  near(contrastRatio([0x77, 0x77, 0x77, 1], [255, 255, 255, 1]), 4.48);
});

test('computed colour syntaxes are read, and an unreadable one throws', () => {
  assert.deepEqual(parseColor('rgb(15, 13, 26)'), [15, 13, 26, 1]);
  assert.deepEqual(parseColor('rgba(255, 255, 255, 0.9)'), [255, 255, 255, 0.9]);
  assert.deepEqual(parseColor('color(srgb 1 0.5 0 / 0.88)'), [255, 127.5, 0, 0.88]);
  assert.deepEqual(parseColor('transparent'), [0, 0, 0, 0]);
  assert.throws(() => parseColor('oklch(0.7 0.1 200)'));
  assert.deepEqual(imageLayers('linear-gradient(rgb(1, 2, 3), rgb(4, 5, 6)), radial-gradient(red, blue)'), [
    'linear-gradient(rgb(1, 2, 3), rgb(4, 5, 6))',
    'radial-gradient(red, blue)',
  ]);
  assert.throws(() => gradientSamples('url("x.png")'));
});

test('the worst contrast composites translucent boxes, opacity and gradients', () => {
  const white = box('rgb(255, 255, 255)');
  near(worstContrast(text('rgb(118, 118, 118)', [white])), 4.54);
  // grey text at opacity 0.7 on white is lighter, and fails
  assert.ok(worstContrast(text('rgb(118, 118, 118)', [white, box('transparent', { opacity: 0.7 })])) < 4.5);
  // translucent text blends with what is behind it
  near(
    worstContrast(text('rgba(0, 0, 0, 0.5)', [white])),
    contrastRatio([127.5, 127.5, 127.5, 1], [255, 255, 255, 1]),
  );
  // a translucent black box over white: the text's background is the blend
  near(
    worstContrast(text('rgb(255, 255, 255)', [white, box('rgba(0, 0, 0, 0.5)')])),
    contrastRatio([255, 255, 255, 1], [127.5, 127.5, 127.5, 1]),
  );
  // white text on a gradient from black to white: the white end gives 1:1
  const gradient = box('transparent', {
    backgroundImage: 'linear-gradient(135deg, rgb(0, 0, 0), rgb(255, 255, 255))',
  });
  near(worstContrast(text('rgb(255, 255, 255)', [white, gradient])), 1);
  // gradient text (background-clip: text) takes the gradient's colours, the parent's background behind
  const clipped = box('transparent', {
    backgroundImage: 'linear-gradient(rgb(0, 0, 0), rgb(200, 200, 200))',
    clipText: true,
  });
  near(
    worstContrast(text('rgba(0, 0, 0, 0)', [white, clipped])),
    contrastRatio([200, 200, 200, 1], [255, 255, 255, 1]),
  );
  assert.equal(requiredContrast({ fontSizePx: 16, fontWeight: 700 }), 4.5);
  assert.equal(requiredContrast({ fontSizePx: 19, fontWeight: 700 }), 3);
  assert.equal(requiredContrast({ fontSizePx: 24, fontWeight: 400 }), 3);
});
