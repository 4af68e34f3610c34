import { createHash, randomBytes } from 'node:crypto';

/** A random url-safe id of `bytes` random bytes. */
export const newId = (bytes: number): string => randomBytes(bytes).toString('base64url');

/** SHA-256 of a resume secret, base64url: what is stored instead of the secret. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('base64url');
