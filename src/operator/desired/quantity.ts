/**
 * Kubernetes resource quantities in the apiserver's canonical form
 * (apimachinery `resource.Quantity.String()`): the apiserver stores `0.5` as
 * `500m`, `1024Mi` as `1Gi` and `2000` as `2k`, so desired state that says
 * what the user wrote would differ from what is stored forever and the
 * operator would re-apply on every reconcile. Desired state therefore says
 * the canonical form, computed exactly (BigInt, no floating point).
 *
 * The rules reproduced (apimachinery quantity.go, checked value for value
 * against kube-apiserver in test/integration/operator-quantity.test.ts):
 * the suffix family of the input decides the format (binary Ki..Ei, decimal
 * n..E or none, exponent e<n>); a value is rounded up to a whole nano, and a
 * ResourceList value (requests, limits) further up to a whole milli; decimal
 * forms use the largest power of 1000 that keeps the mantissa whole; binary
 * forms use the largest power of 1024, and fall back to decimal below 1024
 * or for fractions. One quirk kept: an input the parser already considers
 * canonical is stored exactly as written ("+1" stays "+1").
 */

const BINARY_SUFFIXES = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"] as const;
/** Decimal suffix by exponent of ten. */
const DECIMAL_SUFFIXES = new Map<number, string>([
  [-9, "n"],
  [-6, "u"],
  [-3, "m"],
  [0, ""],
  [3, "k"],
  [6, "M"],
  [9, "G"],
  [12, "T"],
  [15, "P"],
  [18, "E"],
]);
const DECIMAL_EXPONENT = new Map([...DECIMAL_SUFFIXES].map(([exp, suffix]) => [suffix, exp]));

const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

type Format = "DecimalSI" | "BinarySI" | "DecimalExponent";

/** value = sign * digits * 10^exp10 * 1024^exp1024, exactly. */
interface Parsed {
  readonly negative: boolean;
  readonly digits: bigint;
  readonly exp10: number;
  readonly exp1024: number;
  readonly format: Format;
  /** Whole part without leading zeros, and fraction digits, as the Go parser splits them. */
  readonly num: string;
  readonly denom: string;
  /** Power of ten (decimal, exponent) or of two (binary) the suffix stands for. */
  readonly suffixExponent: number;
}

function parse(input: string): Parsed | undefined {
  const m = QUANTITY.exec(input);
  if (!m) return undefined;
  const [, sign = "", whole = "", fraction = "", exponent, suffix] = m;
  if (whole === "" && fraction === "") return undefined;
  let exp10 = -fraction.length;
  let exp1024 = 0;
  let format: Format = "DecimalSI";
  let suffixExponent = 0;
  if (exponent) {
    suffixExponent = Number(exponent.slice(1));
    format = "DecimalExponent";
  } else if (suffix) {
    const binary = BINARY_SUFFIXES.indexOf(suffix as (typeof BINARY_SUFFIXES)[number]);
    if (binary > 0) {
      exp1024 = binary;
      suffixExponent = 10 * binary;
      format = "BinarySI";
    } else {
      suffixExponent = DECIMAL_EXPONENT.get(suffix) ?? 0;
    }
  }
  if (format !== "BinarySI") exp10 += suffixExponent;
  return {
    negative: sign === "-",
    digits: BigInt(whole + fraction || "0"),
    exp10,
    exp1024,
    format,
    num: whole.replace(/^0+/, ""),
    denom: fraction,
    suffixExponent,
  };
}

const INT64_MAX = 2n ** 63n - 1n;

/**
 * Would apimachinery's ParseQuantity keep the input string as its canonical
 * form? Its fast path (small exact values) does when the digits already look
 * canonical; `minScale` is the scale a later RoundUp keeps the string at.
 */
function keepsInputString(q: Parsed, minScale: number): boolean {
  const shifted = q.num + q.denom;
  if (shifted === "" || shifted.startsWith("0")) return false;
  if (q.format === "BinarySI") {
    if (q.denom.length > 0) return false;
    const precision = 15 - q.num.length - Math.trunc((q.suffixExponent * 3) / 10) - 1;
    if (precision < 0) return false;
    const value = BigInt(shifted);
    if (value * 2n ** BigInt(q.suffixExponent) > INT64_MAX) return false;
    return (value & 7n) !== 0n;
  }
  if (18 - shifted.length < 0) return false;
  const scale = q.suffixExponent - q.denom.length;
  if (scale < -9 || scale < minScale) return false;
  if (BigInt(shifted) > INT64_MAX) return false;
  return scale % 3 === 0 && !shifted.endsWith("000");
}

/** The value as an integer count of nanos, rounded away from zero (as the apiserver does). */
function toNanos(q: Parsed): bigint {
  let n = q.digits * 1024n ** BigInt(q.exp1024);
  const shift = q.exp10 + 9;
  if (shift >= 0) n *= 10n ** BigInt(shift);
  else {
    const divisor = 10n ** BigInt(-shift);
    n = n / divisor + (n % divisor === 0n ? 0n : 1n);
  }
  return n;
}

function removeFactors(value: bigint, base: bigint): { value: bigint; times: number } {
  let times = 0;
  while (value !== 0n && value % base === 0n) {
    value /= base;
    times++;
  }
  return { value, times };
}

/** Mantissa and a power of ten that is a multiple of three. */
function decimalParts(nanos: bigint): { mantissa: bigint; exponent: number } {
  const { value, times } = removeFactors(nanos, 10n);
  let mantissa = value;
  let exponent = times - 9;
  const rem = ((exponent % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(rem);
  exponent -= rem;
  return { mantissa, exponent };
}

/**
 * The canonical string of a quantity (`0.5` -> `500m`, `1024Mi` -> `1Gi`,
 * `"1000m"` -> `1`). A value that is not a quantity, or outside the range
 * this handles (beyond exa), comes back as given so the apiserver can reject
 * it with its own message.
 */
export function canonicalQuantity(
  input: string | number,
  options: {
    /** Round up to a whole milli, as the apiserver does for every ResourceList (requests, limits). */
    readonly milli?: boolean;
  } = {},
): string {
  const text = typeof input === "number" ? String(input) : input.trim();
  const q = parse(text);
  if (!q) return String(input);
  let nanos = toNanos(q);
  if (nanos === 0n) return "0";
  if (keepsInputString(q, options.milli ? -3 : -9)) return text;
  const MILLI = 1_000_000n;
  if (options.milli && nanos % MILLI !== 0n) nanos = (nanos / MILLI + 1n) * MILLI;
  const sign = q.negative ? "-" : "";
  const ONE = 1_000_000_000n;
  if (q.format === "BinarySI" && nanos % ONE === 0n && nanos / ONE >= 1024n) {
    const { value, times } = removeFactors(nanos / ONE, 1024n);
    const suffix = BINARY_SUFFIXES[times];
    if (suffix !== undefined) return `${sign}${value}${suffix}`;
    return String(input);
  }
  const { mantissa, exponent } = decimalParts(nanos);
  if (q.format === "DecimalExponent") return `${sign}${mantissa}${exponent === 0 ? "" : `e${exponent}`}`;
  const suffix = DECIMAL_SUFFIXES.get(exponent);
  return suffix === undefined ? String(input) : `${sign}${mantissa}${suffix}`;
}

/** Is this a quantity the apiserver accepts (syntax only)? */
export function isQuantity(input: string | number): boolean {
  return parse(typeof input === "number" ? String(input) : input.trim()) !== undefined;
}

/** Every value of a ResourceList (requests, limits) in canonical form. */
export function canonicalQuantities(
  map: Readonly<Record<string, string | number>> | undefined,
): Record<string, string> | undefined {
  if (!map) return undefined;
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, canonicalQuantity(v, { milli: true })]));
}
