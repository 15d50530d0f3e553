/**
 * Undoes the slips OCR makes inside words, token by token (runs of letters and digits): a
 * lower-case l among capitals (three characters or more) becomes I ("PEl" reads "PEI"); in a token of at least two letters whose only digit is 0, each 0 becomes an O
 * (o after a lower-case letter): "IS0" reads "ISO", "abs0rption" "absorption". In a token of
 * at least three letters whose digits are only 0, 1 and 5, those become o, l and s ("c1ass").
 * Codes with other digits or fewer letters ("R10", "C1028", "A137.1", "BS5") are left alone.
 */
export function repairOcrWords(text: string): string {
  return text.replace(/[A-Za-z0-9]+/g, (token) => {
    // A lower-case l among capitals is a capital I: "PEl", "lSO".
    const capitals = token.replace(/[^A-Z]/g, '').length;
    if (capitals >= 1 && token.length >= 3 && /l/.test(token) && /^[A-Z0-9l]+$/.test(token)) {
      token = token.replace(/l/g, 'I');
    }

    const letters = token.replace(/[^A-Za-z]/g, '').length;
    const digits = token.replace(/[^0-9]/g, '');
    if (digits === '' || /[2-46-9]/.test(digits)) return token;

    if (letters >= 2 && /^0+$/.test(digits)) {
      return token.replace(/0/g, (_, at: number) => {
        const before = token
          .slice(0, at)
          .replace(/[^A-Za-z]/g, '')
          .at(-1);
        return before !== undefined && before === before.toLowerCase() ? 'o' : 'O';
      });
    }
    if (letters >= 3 && !/^[A-Z0-9]+$/.test(token)) {
      return token.replace(/0/g, 'o').replace(/1/g, 'l').replace(/5/g, 's');
    }
    return token;
  });
}
