/** Anonymous display names ("Quiet Otter") derived from a session id. */
const ADJECTIVES = [
  'Quiet',
  'Brave',
  'Sunny',
  'Mellow',
  'Lucky',
  'Gentle',
  'Swift',
  'Witty',
  'Calm',
  'Bright',
  'Cosmic',
  'Dreamy',
  'Fuzzy',
  'Jolly',
  'Misty',
  'Noble',
  'Rapid',
  'Silver',
  'Velvet',
  'Wild',
];
const ANIMALS = [
  'Otter',
  'Fox',
  'Heron',
  'Panda',
  'Lynx',
  'Koala',
  'Falcon',
  'Badger',
  'Dolphin',
  'Owl',
  'Tiger',
  'Robin',
  'Moose',
  'Gecko',
  'Raven',
  'Seal',
  'Wolf',
  'Crane',
  'Bison',
  'Hare',
];

export function anonymousName(sessionId: string): string {
  let h = 2166136261;
  for (let i = 0; i < sessionId.length; i++) h = Math.imul(h ^ sessionId.charCodeAt(i), 16777619);
  h >>>= 0;
  return `${ADJECTIVES[h % ADJECTIVES.length]} ${ANIMALS[Math.floor(h / ADJECTIVES.length) % ANIMALS.length]}`;
}
