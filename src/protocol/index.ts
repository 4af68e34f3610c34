export * from './messages.js';
export * from './track.js';
export * from './validate.js';
export { codePointLength, trimUnicode } from './text.js';
export * from './encode.js';
