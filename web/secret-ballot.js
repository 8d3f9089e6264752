/**
 * Secret ballots on the tablet (issue 20), the same formats as voting/group.py, voting/secret.py and
 * voting/commission.py: the Ed25519 prime-order group (@noble/curves, vendored), exponential ElGamal, the
 * proofs, the counting commission's key shares and partial decryptions. What this makes the server checks,
 * and what the server's code makes this checks (tests/test_secret_ballot_js.py). docs/ledger.md "Secret
 * ballots" gives every format.
 *
 * Secrets (a member's coefficients, transport key and share; a ballot's randomness) never leave the page
 * unencrypted: only the published values below are sent.
 *
 * @module secret-ballot
 */

import { bytesToNumberLE, ed25519, numberToBytesLE, sha512 } from "./vendor/noble-curves-2.4.0/ed25519-group.min.mjs";
import { canonicalBytes } from "./jcs.js";
import { fromBase64url, toBase64url } from "./webauthn.js";

const Point = ed25519.Point;
const Fn = Point.Fn;
const G = Point.BASE;
const DOMAIN = "kvorum-secret-v1/";
const VERSION = 1;

/** The options a secret ballot encrypts, in this order. */
export const OPTIONS = ["for", "against", "abstain"];

const text = new TextEncoder();

// ---- the group ------------------------------------------------------------------------------------

/** A scalar's 32 bytes, little-endian. */
const scalarBytes = (k) => numberToBytesLE(k, 32);
const b64 = (bytes) => toBase64url(bytes);
const pointB64 = (p) => b64(p.toBytes());
const scalarB64 = (k) => b64(scalarBytes(k));

/** k·P; the identity for k = 0 (noble refuses 0 in its constant-time multiply). */
function mul(k, p) {
  return k === 0n || p.is0() ? Point.ZERO : p.multiply(k);
}

/** A point received from elsewhere: canonical, in the prime-order subgroup, not the identity. */
export function pointOf(b64text) {
  const bytes = fromBase64url(b64text);
  let p;
  try {
    p = Point.fromBytes(bytes);
  } catch {
    throw new Error("not a point of the group");
  }
  if (p.is0() || p.isSmallOrder() || !p.isTorsionFree() || !equalBytes(p.toBytes(), bytes)) {
    throw new Error("not a point of the group");
  }
  return p;
}

/** A scalar received from elsewhere: 32 bytes below ℓ. */
function scalarOf(b64text) {
  const bytes = fromBase64url(b64text);
  const k = bytesToNumberLE(bytes);
  if (bytes.length !== 32 || k >= Fn.ORDER) throw new Error("not a canonical scalar");
  return k;
}

function equalBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A uniformly random scalar: 64 random bytes reduced mod ℓ. */
function randomScalar() {
  return Fn.create(bytesToNumberLE(crypto.getRandomValues(new Uint8Array(64))));
}

/** A framed part: its length (4 bytes, big-endian), then its bytes (UTF-8 for text). */
function frame(part) {
  const bytes = typeof part === "string" ? text.encode(part) : part instanceof Uint8Array ? part : part.toBytes();
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** The Fiat–Shamir challenge of the proof `label` over `parts` (text, bytes or points), as voting/group.py. */
function challenge(label, ...parts) {
  return Fn.create(bytesToNumberLE(sha512(concat([frame(DOMAIN + label), ...parts.map(frame)]))));
}

// ---- proofs ---------------------------------------------------------------------------------------

function proveKnowledge(label, parts, x) {
  const w = randomScalar();
  const c = challenge(label, ...parts, mul(x, G), mul(w, G));
  return [c, Fn.add(w, Fn.mul(c, x))];
}

function verifyKnowledge(label, parts, publicPoint, [c, s]) {
  const commitment = mul(s, G).subtract(mul(c, publicPoint));
  return challenge(label, ...parts, publicPoint, commitment) === c;
}

function proveEqualLogs(label, parts, x, g1, g2) {
  const w = randomScalar();
  const c = challenge(label, ...parts, g1, mul(x, g1), g2, mul(x, g2), mul(w, g1), mul(w, g2));
  return [c, Fn.add(w, Fn.mul(c, x))];
}

function verifyEqualLogs(label, parts, g1, x1, g2, x2, [c, s]) {
  const t1 = mul(s, g1).subtract(mul(c, x1));
  const t2 = mul(s, g2).subtract(mul(c, x2));
  return challenge(label, ...parts, g1, x1, g2, x2, t1, t2) === c;
}

/** Cramer–Damgård–Schoenmakers: (A, B) encrypts m ∈ {0, 1}; the other branch simulated. [c0, c1, s0, s1]. */
function proveBit(parts, key, a, b, m, r) {
  const cSim = randomScalar();
  const sSim = randomScalar();
  const shifted = m === 0 ? b.subtract(G) : b; // B − other·G
  const sim = [mul(sSim, G).subtract(mul(cSim, a)), mul(sSim, key).subtract(mul(cSim, shifted))];
  const w = randomScalar();
  const real = [mul(w, G), mul(w, key)];
  const [t0, t1] = m === 0 ? [real, sim] : [sim, real];
  const c = challenge("bit", ...parts, ...t0, ...t1);
  const cReal = Fn.sub(c, cSim);
  const sReal = Fn.add(w, Fn.mul(cReal, r));
  return m === 0 ? [cReal, cSim, sReal, sSim] : [cSim, cReal, sSim, sReal];
}

// ---- ballots --------------------------------------------------------------------------------------

/**
 * The encrypted ballot of `deputy` choosing `choice` in the vote `context` under the commission's `key`
 * (base64url), as voting/secret.py `encrypt_ballot` makes it: what the tablet signs and sends.
 */
export function encryptBallot(keyB64, choice, context, deputy) {
  if (!OPTIONS.includes(choice)) throw new Error(`not an option: ${choice}`);
  const key = pointOf(keyB64);
  const keyBytes = key.toBytes();
  let sumA = Point.ZERO;
  let sumB = Point.ZERO;
  let total = 0n;
  const options = OPTIONS.map((option, index) => {
    const m = option === choice ? 1 : 0;
    const r = randomScalar();
    const a = mul(r, G);
    const b = m ? mul(r, key).add(G) : mul(r, key);
    const parts = [context, deputy, keyBytes, String(index), a, b];
    const proof = proveBit(parts, key, a, b, m, r);
    sumA = sumA.add(a);
    sumB = sumB.add(b);
    total = Fn.add(total, r);
    return { a: pointB64(a), b: pointB64(b), proof: proof.map(scalarB64) };
  });
  const one = proveEqualLogs("one", [context, deputy], total, G, key);
  if (!sumB.subtract(G).equals(mul(total, key))) throw new Error("the ballot does not sum to one");
  return { v: VERSION, options, sum_proof: one.map(scalarB64) };
}

// ---- the commission's key -------------------------------------------------------------------------

/** f(x) = Σ a_l x^l mod ℓ. */
function evaluate(coefficients, x) {
  let result = 0n;
  for (const a of [...coefficients].reverse()) result = Fn.add(Fn.mul(result, BigInt(x)), a);
  return result;
}

/** Σ_l x^l·C_l. */
function expected(commitments, x) {
  let result = Point.ZERO;
  for (const c of [...commitments].reverse()) result = mul(BigInt(x), result).add(c);
  return result;
}

function pad(context, dealer, to, ephemeral, shared) {
  const parts = [context, String(dealer), String(to), ephemeral, shared];
  return sha512(concat([frame(`${DOMAIN}pad`), ...parts.map(frame)])).slice(0, 32);
}

const xor = (a, b) => a.map((x, i) => x ^ b[i]);

/**
 * Member `index`'s first step (voting/commission.py `commit`): its secret (kept on the tablet, in the form
 * `saveSecret` stores) and what it publishes.
 */
export function commit(context, index, threshold) {
  const coefficients = Array.from({ length: threshold }, randomScalar);
  const transport = randomScalar();
  const parts = [context, String(index)];
  return {
    secret: { index, coefficients, transport, share: null },
    published: {
      member: index,
      commitments: coefficients.map((a) => pointB64(mul(a, G))),
      transport: pointB64(mul(transport, G)),
      proofs: {
        key: proveKnowledge("coefficient", parts, coefficients[0]).map(scalarB64),
        transport: proveKnowledge("transport", parts, transport).map(scalarB64),
      },
    },
  };
}

/** A member's published commitment, checked (its proofs), as points. */
export function checkCommitment(context, published, threshold) {
  if (published.commitments.length !== threshold) throw new Error(`a member commits to ${threshold} coefficients`);
  const commitments = published.commitments.map(pointOf);
  const transport = pointOf(published.transport);
  const parts = [context, String(published.member)];
  if (!verifyKnowledge("coefficient", parts, commitments[0], published.proofs.key.map(scalarOf))) {
    throw new Error(`member ${published.member} does not prove its key`);
  }
  if (!verifyKnowledge("transport", parts, transport, published.proofs.transport.map(scalarOf))) {
    throw new Error(`member ${published.member} does not prove its transport key`);
  }
  return { index: published.member, commitments, transport };
}

/** The member's shares for every other member, each encrypted to its transport key (`deal`). */
export function deal(context, secret, others) {
  const shares = others
    .filter((other) => other.index !== secret.index)
    .map((other) => {
      const e = randomScalar();
      const ephemeral = mul(e, G);
      const sealed = xor(scalarBytes(evaluate(secret.coefficients, other.index)), pad(context, secret.index, other.index, ephemeral, mul(e, other.transport)));
      return { to: other.index, ephemeral: pointB64(ephemeral), sealed: b64(sealed) };
    });
  return { member: secret.index, shares };
}

/**
 * Open and check every share dealt to this member (`deals`: dealer index → its `deal`); keep the share when
 * all check. Returns the dealers whose shares do not (empty when all do).
 */
export function receive(context, secret, commitments, deals) {
  const bad = [];
  let share = evaluate(secret.coefficients, secret.index);
  for (const dealer of commitments) {
    if (dealer.index === secret.index) continue;
    const dealt = (deals[dealer.index]?.shares ?? []).find((s) => s.to === secret.index);
    if (!dealt) {
      bad.push(dealer.index);
      continue;
    }
    const ephemeral = pointOf(dealt.ephemeral);
    const opened = bytesToNumberLE(xor(fromBase64url(dealt.sealed), pad(context, dealer.index, secret.index, ephemeral, mul(secret.transport, ephemeral))));
    if (opened >= Fn.ORDER || !mul(opened, G).equals(expected(dealer.commitments, secret.index))) {
      bad.push(dealer.index);
      continue;
    }
    share = Fn.add(share, opened);
  }
  if (!bad.length) secret.share = share;
  return bad;
}

/** K = Σ_i C_i0, base64url. */
export function electionKey(commitments) {
  return pointB64(commitments.reduce((sum, c) => sum.add(c.commitments[0]), Point.ZERO));
}

/** S_j = Σ_i Σ_l j^l·C_il. */
function publicShare(commitments, index) {
  return commitments.reduce((sum, c) => sum.add(expected(c.commitments, index)), Point.ZERO);
}

/** The member holds its share: a proof of knowing it (`ready`). */
export function ready(context, secret) {
  if (secret.share === null) throw new Error("the member's shares did not all check");
  return { member: secret.index, proof: proveKnowledge("share", [context, String(secret.index)], secret.share).map(scalarB64) };
}

/** Whether a member's `ready` proves its share against everyone's commitments. */
export function checkReady(context, commitments, published) {
  return verifyKnowledge("share", [context, String(published.member)], publicShare(commitments, published.member), published.proof.map(scalarOf));
}

// ---- the count ------------------------------------------------------------------------------------

/**
 * The member's partial decryption of the product (`[{a, b}]` base64url per option): D = s·ΣA with its proof
 * (voting/secret.py `partial`).
 */
export function partialDecryption(secret, product, context) {
  const options = product.map(({ a }) => {
    if (isIdentity(a)) return null; // nothing masks this option's ΣB: it is counted as it is
    const sumA = pointOf(a);
    const d = mul(secret.share, sumA);
    const proof = proveEqualLogs("decryption", [context, String(secret.index)], secret.share, G, sumA);
    return { d: pointB64(d), proof: proof.map(scalarB64) };
  });
  return { v: VERSION, member: secret.index, options };
}

const isIdentity = (b64text) => equalBytes(fromBase64url(b64text), Point.ZERO.toBytes());

/**
 * Each option's ciphertexts added over `ballots` (the encrypted ballots counted: each deputy's last), as the
 * server's `vote.tallying` must show them — what a commission member compares before decrypting anything.
 */
export function productOf(ballots) {
  const sums = OPTIONS.map(() => [Point.ZERO, Point.ZERO]);
  for (const ballot of ballots) {
    ballot.options.forEach((option, o) => {
      sums[o] = [sums[o][0].add(pointOf(option.a)), sums[o][1].add(pointOf(option.b))];
    });
  }
  return sums.map(([a, b]) => ({ a: pointB64(a), b: pointB64(b) }));
}

/** What the tablet keeps of a member's secret (localStorage), and back. */
export function saveSecret(secret) {
  return JSON.stringify({
    index: secret.index,
    coefficients: secret.coefficients.map(scalarB64),
    transport: scalarB64(secret.transport),
    share: secret.share === null ? null : scalarB64(secret.share),
  });
}

export function loadSecret(saved) {
  const raw = JSON.parse(saved);
  return {
    index: raw.index,
    coefficients: raw.coefficients.map(scalarOf),
    transport: scalarOf(raw.transport),
    share: raw.share === null ? null : scalarOf(raw.share),
  };
}

/**
 * A complaint against `dealer` whose share dealt to this member does not check (`complain`): the point that
 * opens it, with a proof that it is t·E for this member's transport key T = tG.
 */
export function complain(context, secret, dealer, deals) {
  const dealt = (deals[dealer]?.shares ?? []).find((s) => s.to === secret.index);
  if (!dealt) throw new Error(`member ${dealer} dealt no share to member ${secret.index}`);
  const ephemeral = pointOf(dealt.ephemeral);
  const shared = mul(secret.transport, ephemeral);
  const proof = proveEqualLogs("complaint", [context, String(dealer), String(secret.index)], secret.transport, G, ephemeral);
  return { member: secret.index, against: dealer, shared: pointB64(shared), proof: proof.map(scalarB64) };
}

/** What a signed secret ballot names instead of a choice: base64url(SHA-256(JCS(encrypted ballot))). */
export async function encryptedDigest(encrypted) {
  return toBase64url(await crypto.subtle.digest("SHA-256", canonicalBytes(encrypted)));
}
