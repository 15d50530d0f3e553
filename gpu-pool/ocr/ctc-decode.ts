/**
 * The recognizer's classes: index 0 is the CTC blank, then the dictionary's characters one per
 * line, then the space, as PaddleOCR's recognition head was trained.
 */
export interface CharacterSet {
  /** `characters[i]` is the text of class i; `characters[0]` is the blank (''). */
  characters: readonly string[];
}

/**
 * Builds the class list from a PaddleOCR dictionary file's text (one character per line).
 * Line endings may be LF or CRLF; a final empty line is ignored.
 */
export function characterSetOf(dictionaryText: string): CharacterSet {
  const lines = dictionaryText.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return { characters: ['', ...lines, ' '] };
}

/** One decoded text line and how sure the recognizer was of it. */
export interface DecodedLine {
  text: string;
  /** Mean probability of the characters kept; 0 for an empty line. */
  confidence: number;
  /** The probability of each kept character, in order. */
  charConfidences: number[];
}

/**
 * Greedy CTC decoding of one line: the most probable class per time step, repeats collapsed,
 * blanks dropped. `probabilities` holds `steps * classes` values, row-major. With
 * `spaceThreshold`, a run of blanks between two characters in which the space class reached
 * that probability decodes as a space: the recognizer, trained mostly on Chinese text, often
 * ranks the space just below the blank between Latin words.
 */
export function decodeCtcGreedy(
  probabilities: Float32Array,
  steps: number,
  classes: number,
  charset: CharacterSet,
  options: { spaceThreshold?: number } = {},
): DecodedLine {
  const space = charset.characters.length - 1;
  const spaceThreshold = options.spaceThreshold ?? Number.POSITIVE_INFINITY;
  let gapSpace = 0;
  if (charset.characters.length !== classes) {
    throw new RangeError(
      `The recognizer answers ${classes} classes but the dictionary gives ` +
        `${charset.characters.length}; the model and its dictionary do not belong together.`,
    );
  }

  let text = '';
  const charConfidences: number[] = [];
  let previous = -1;
  for (let step = 0; step < steps; step++) {
    const offset = step * classes;
    let best = 0;
    let bestProbability = probabilities[offset] ?? 0;
    for (let c = 1; c < classes; c++) {
      const p = probabilities[offset + c] ?? 0;
      if (p > bestProbability) {
        best = c;
        bestProbability = p;
      }
    }

    // A space the greedy path missed: between two characters, the space class came close.
    if (best !== 0 && best !== previous) {
      const wantsSpace = gapSpace >= spaceThreshold && best !== space && !text.endsWith(' ');
      if (wantsSpace && text !== '') {
        text += ' ';
        charConfidences.push(gapSpace);
      }
      text += charset.characters[best] ?? '';
      charConfidences.push(bestProbability);
      gapSpace = 0;
    } else if (best === 0) {
      gapSpace = Math.max(gapSpace, probabilities[offset + space] ?? 0);
    }
    previous = best;
  }

  const confidence =
    charConfidences.length === 0
      ? 0
      : charConfidences.reduce((a, b) => a + b, 0) / charConfidences.length;
  return { text, confidence, charConfidences };
}
