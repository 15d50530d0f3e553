/**
 * Canonical names and the words that mean them, most specific first: within one line the
 * earliest entry that matches wins, so "porcelain ceramic tile" reads as porcelain.
 */
export const MATERIALS: readonly { name: string; words: readonly string[] }[] = [
  { name: 'porcelain', words: ['porcelain stoneware', 'porcelain', 'gres porcellanato'] },
  { name: 'quartzite', words: ['quartzite'] },
  { name: 'quartz', words: ['engineered quartz', 'engineered stone', 'quartz'] },
  { name: 'marble', words: ['marble'] },
  { name: 'granite', words: ['granite'] },
  { name: 'travertine', words: ['travertine'] },
  { name: 'limestone', words: ['limestone'] },
  { name: 'sandstone', words: ['sandstone'] },
  { name: 'slate', words: ['slate'] },
  { name: 'onyx', words: ['onyx'] },
  { name: 'basalt', words: ['basalt'] },
  { name: 'terrazzo', words: ['terrazzo'] },
  { name: 'ceramic', words: ['ceramic', 'stoneware', 'earthenware', 'majolica'] },
  { name: 'vinyl', words: ['luxury vinyl', 'vinyl', 'lvt', 'spc'] },
  { name: 'laminate', words: ['laminate'] },
  {
    name: 'wood',
    words: [
      'hardwood',
      'engineered wood',
      'oak',
      'walnut',
      'maple',
      'teak',
      'ash',
      'wood',
      'timber',
      'bamboo',
    ],
  },
  { name: 'cork', words: ['cork'] },
  { name: 'glass', words: ['glass'] },
  {
    name: 'metal',
    words: [
      'stainless steel',
      'steel',
      'aluminium',
      'aluminum',
      'brass',
      'copper',
      'zinc',
      'metal',
    ],
  },
  { name: 'concrete', words: ['concrete', 'cement'] },
  { name: 'fabric', words: ['fabric', 'textile', 'wool', 'linen', 'cotton', 'polyester'] },
  { name: 'leather', words: ['leather'] },
];

/** Surface finishes, canonical name first; earliest entry wins within a line. */
export const FINISHES: readonly { name: string; words: readonly string[] }[] = [
  { name: 'lappato', words: ['lappato', 'semi-polished', 'semi polished', 'semipolished'] },
  { name: 'polished', words: ['polished', 'high gloss'] },
  { name: 'honed', words: ['honed'] },
  { name: 'satin', words: ['satin', 'silk'] },
  { name: 'glossy', words: ['glossy', 'gloss'] },
  { name: 'matt', words: ['matt', 'matte', 'mat'] },
  { name: 'structured', words: ['structured', 'textured', 'relief'] },
  { name: 'brushed', words: ['brushed'] },
  { name: 'sandblasted', words: ['sandblasted', 'sand-blasted'] },
  { name: 'tumbled', words: ['tumbled'] },
  { name: 'flamed', words: ['flamed', 'thermal'] },
  { name: 'bush-hammered', words: ['bush-hammered', 'bush hammered', 'bushhammered'] },
  { name: 'natural', words: ['natural', 'unpolished'] },
];

/** Colour words, for lines that name a colour without a "Colour:" label. */
export const COLOURS: readonly string[] = [
  'white',
  'black',
  'grey',
  'gray',
  'anthracite',
  'charcoal',
  'beige',
  'ivory',
  'cream',
  'sand',
  'taupe',
  'brown',
  'walnut',
  'red',
  'terracotta',
  'blue',
  'green',
  'sage',
  'yellow',
  'gold',
  'silver',
  'bronze',
  'pink',
  'greige',
];

/**
 * The first entry of `vocabulary` one of whose words stands as a whole word in `lowerText`,
 * with where it was found.
 */
export function firstTermIn(
  lowerText: string,
  vocabulary: readonly { name: string; words: readonly string[] }[],
): { name: string; word: string } | undefined {
  for (const entry of vocabulary) {
    for (const word of entry.words) {
      const pattern = new RegExp(`(^|[^a-z])${escapeRegExp(word)}($|[^a-z])`);
      if (pattern.test(lowerText)) return { name: entry.name, word };
    }
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
