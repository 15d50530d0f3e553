/**
 * Undoes the letter-for-digit slips OCR makes inside words ("abs0rption", "c1ass", "l5O"),
 * so labels match: a token of at least three letters whose only digits are 0, 1 or 5 gets
 * them back as o, l, s. Codes with fewer letters ("R10", "C1028", "A137.1") are left alone.
 */
export function repairOcrWords(text: string): string {
  return text.replace(/[A-Za-z0-9]+/g, (token) => {
    const letters = token.replace(/[^A-Za-z]/g, '').length;
    if (letters < 3 || !/[015]/.test(token) || /[2-46-9]/.test(token)) return token;
    if (/^[A-Z0-9]+$/.test(token) && !/^[01IlSO5]+$/.test(token)) return token;
    return token.replace(/0/g, 'o').replace(/1/g, 'l').replace(/5/g, 's');
  });
}
