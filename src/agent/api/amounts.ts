// Amounts as people write them: "1.5" ETH or token units with up to `decimals` fractional digits,
// turned into base units (wei) exactly, and back. Strict: digits with one optional point, no sign,
// no exponent, no more fractional digits than the asset has, nothing beyond 2^256 - 1.
import { ApiRequestError } from './api-error.js';

const MAX_UINT256 = (1n << 256n) - 1n;
const AMOUNT_RE = /^(\d+)(?:\.(\d+))?$/;

/** Base units of `text` for an asset with `decimals` decimals; ApiRequestError (400) if it is not an amount. */
export function parseAmount(text: string, decimals = 18): bigint {
  const refuse = (why: string): never => {
    throw new ApiRequestError(400, 'INVALID_AMOUNT', `not an amount: ${why}`, { amount: text, decimals });
  };
  if (typeof text !== 'string' || text.length > 100) refuse('expected a decimal number');
  const m = AMOUNT_RE.exec(text.trim());
  if (m === null) refuse('expected digits with an optional decimal point');
  const [, whole, frac = ''] = m!;
  if (frac.length > decimals) refuse(`at most ${decimals} decimals`);
  const units = BigInt(whole! + frac.padEnd(decimals, '0'));
  if (units > MAX_UINT256) refuse('too large');
  return units;
}

/** `units` base units as a decimal string with `decimals` decimals, trailing zeros dropped ("1.5", "3"). */
export function formatAmount(units: bigint, decimals = 18): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${frac === '' ? '' : `.${frac}`}`;
}
