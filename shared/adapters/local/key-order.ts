/**
 * DynamoDB orders string keys by their UTF-8 bytes, i.e. by code point; the memory stores must too, or
 * paging would differ between stores. UTF-16 code units agree with code points except that surrogates
 * (U+D800-DFFF, which encode code points above U+FFFF) must sort after U+E000-FFFF: shifting the two
 * ranges fixes that.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
