/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the values Kvorum's events hold.
 *
 * Event payloads contain only strings, integers, booleans, null, arrays and objects
 * (docs/ledger.md), so this is the whole of JCS that a client needs: object keys sorted by
 * UTF-16 code units (JavaScript's default sort order), no white space, strings serialised by
 * `JSON.stringify` (RFC 8785 §3.2.2.2 defers to ECMAScript for exactly that), integers in their
 * ECMAScript form. Anything else is refused rather than hashed differently from the server.
 *
 * @module jcs
 */

/**
 * The canonical JSON text of `value`.
 *
 * @param {unknown} value parsed JSON: null, boolean, safe integer, string, array or plain object
 * @returns {string}
 * @throws {TypeError} for a non-integer or unsafe number, a lone surrogate, or a non-JSON value
 */
export function canonicalize(value) {
  if (value === null || typeof value === "boolean") {
    return value ? "true" : value === false ? "false" : "null";
  }
  if (typeof value === "number") {
    // Kvorum events hold no fractions; a float here means something other than the ledger.
    if (!Number.isSafeInteger(value)) throw new TypeError(`not a safe integer: ${value}`);
    return JSON.stringify(value); // -0 becomes "0", as in JCS
  }
  if (typeof value === "string") return string(value);
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`;
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value).sort(); // default sort compares UTF-16 code units
    return `{${keys.map((key) => `${string(key)}:${canonicalize(value[key])}`).join(",")}}`;
  }
  throw new TypeError(`not a JSON value: ${typeof value}`);
}

/**
 * The canonical JSON text of `value` as UTF-8 bytes, ready to hash.
 *
 * @param {unknown} value
 * @returns {Uint8Array}
 */
export function canonicalBytes(value) {
  return new TextEncoder().encode(canonicalize(value));
}

/** @param {string} text */
function string(text) {
  // Lone surrogates are not Unicode text and cannot be UTF-8 encoded the way the server did.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
    throw new TypeError("a string holds a lone surrogate");
  }
  return JSON.stringify(text);
}
