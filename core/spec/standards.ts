/** A standard cited in a line: its canonical name and where it stood. */
export interface CitedStandard {
  name: string;
  start: number;
  end: number;
}

// Most specific first; a later pattern never takes text an earlier one matched.
const PATTERNS: readonly { pattern: RegExp; name: (m: RegExpExecArray) => string }[] = [
  {
    // "ISO 10545-3", "EN ISO 10545-2", "DIN EN ISO 10545-12", "ISO 13006:2018"
    pattern:
      /\b(?:(?:DIN|BS|UNI|NF|SS)\s*)?(?:EN\s*)?[I1l][Ss5][Oo0]\s*(\d{3,5})(?:\s*[-–]\s*(\d{1,2}))?/g,
    name: (m) => `ISO ${m[1]}${m[2] ? `-${m[2]}` : ''}`,
  },
  {
    // "ASTM C1028", "ASTM C 373", "ASTM C1026-13"
    pattern: /\bASTM\s*([A-Z])\s*(\d{2,5})/g,
    name: (m) => `ASTM ${m[1]}${m[2]}`,
  },
  {
    // "ANSI A137.1", "ANSI A326.3"
    pattern: /\bANSI\s*([A-Z])\s*(\d{2,4}(?:\.\d{1,2})?)/g,
    name: (m) => `ANSI ${m[1]}${m[2]}`,
  },
  {
    // "EN 14411", "DIN EN 14411", "BS EN 16165", "EN 12004-1"
    pattern: /\b(?:(?:DIN|BS|UNI|NF|SS)\s*)?EN\s*(\d{3,5})(?:\s*[-–]\s*(\d{1,2}))?/g,
    name: (m) => `EN ${m[1]}${m[2] ? `-${m[2]}` : ''}`,
  },
  { pattern: /\bDIN\s*(\d{4,5})/g, name: (m) => `DIN ${m[1]}` },
  { pattern: /\bBS\s*(\d{3,5})/g, name: (m) => `BS ${m[1]}` },
];

/**
 * The standards a line cites, canonical: national adoptions of ISO and EN standards (DIN EN
 * ISO 10545-3) are named by the ISO or EN number, years (":2018") dropped. In line order.
 */
export function citedStandards(text: string): CitedStandard[] {
  const found: CitedStandard[] = [];
  for (const { pattern, name } of PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const start = match.index;
      const end = start + match[0].length;
      if (found.some((f) => start < f.end && end > f.start)) continue;
      found.push({ name: name(match as RegExpExecArray), start, end });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}
