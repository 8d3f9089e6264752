/**
 * WebAuthn for the tablet: enrolling the device from the secretary's link, and signing ballots.
 * The ballot format and challenge are described in docs/ledger.md ("Signed ballots").
 *
 * @module webauthn
 */

import { canonicalBytes } from "./jcs.js";

const CHALLENGE_DOMAIN = new TextEncoder().encode("kvorum-ballot-v1");
const NONCE_DOMAIN = "kvorum-nonce-v1";

/** @param {ArrayBuffer|Uint8Array} data */
export function toBase64url(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** @param {string} text base64url, with or without padding */
export function fromBase64url(text) {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/**
 * The canonical bytes of a ballot and its WebAuthn challenge:
 * SHA-256("kvorum-ballot-v1" ‖ 0x00 ‖ JCS({v, council, session, vote, item, deputy, choice, nonce})).
 */
export async function ballotChallenge(ballot) {
  const bytes = canonicalBytes({ v: 1, ...ballot });
  const data = new Uint8Array(CHALLENGE_DOMAIN.length + 1 + bytes.length);
  data.set(CHALLENGE_DOMAIN, 0);
  data.set(bytes, CHALLENGE_DOMAIN.length + 1);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/**
 * The nonce of `deputy`'s `index`-th signed ballot (from 0) in the vote whose seed is `seed`, as
 * voting/ballot.py `nonce_for` computes it: base64url(SHA-256("kvorum-nonce-v1" 0 seed 0 deputy 0
 * index)). The seed is public, so a tablet can sign a ballot while the link is down and send it later.
 */
export async function nonceFor(seed, deputy, index) {
  const data = new TextEncoder().encode([NONCE_DOMAIN, seed, deputy, String(index)].join("\0"));
  return toBase64url(await crypto.subtle.digest("SHA-256", data));
}

/** A JSON error body or a plain one, as `{error, message}`. */
async function failure(response) {
  try {
    const body = await response.json();
    return Object.assign(new Error(body.message ?? response.statusText), { error: body.error ?? "http_error" });
  } catch {
    return Object.assign(new Error(response.statusText), { error: "http_error" });
  }
}

/**
 * Enroll this device for the link's deputy: registration options → `navigator.credentials.create`
 * with user verification → the server. Resolves with `{deputy, credential}`.
 *
 * @param {string} token the one-time token from the enrollment link
 */
export async function enroll(token) {
  const base = `/api/v1/enrollments/${encodeURIComponent(token)}`;
  const optionsResponse = await fetch(`${base}/options`, { method: "POST" });
  if (!optionsResponse.ok) throw await failure(optionsResponse);
  const options = await optionsResponse.json();
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user.id) },
    excludeCredentials: (options.excludeCredentials ?? []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
  };
  const credential = await navigator.credentials.create({ publicKey });
  const body = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64url(credential.response.clientDataJSON),
      attestationObject: toBase64url(credential.response.attestationObject),
      transports: credential.response.getTransports?.() ?? [],
    },
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
  };
  const done = await fetch(`${base}/credential`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!done.ok) throw await failure(done);
  return done.json();
}

/**
 * Sign a ballot on this device (the fingerprint or PIN prompt) and return the `ballot.cast` fields
 * `{nonce, assertion}`.
 *
 * @param {{council: string, session: string, vote: string, item: string, deputy: string, choice: string, nonce: string}} ballot
 * @param {{rpId: string, credentials: string[]}} where the council's RP id and the deputy's credential ids
 */
export async function signBallot(ballot, where) {
  const challenge = await ballotChallenge(ballot);
  const assertion = await navigator.credentials.get({
    publicKey: {
      challenge,
      rpId: where.rpId,
      allowCredentials: where.credentials.map((id) => ({ type: "public-key", id: fromBase64url(id) })),
      userVerification: "required",
      timeout: 60_000,
    },
  });
  return {
    nonce: ballot.nonce,
    assertion: {
      credential: toBase64url(assertion.rawId),
      authenticator_data: toBase64url(assertion.response.authenticatorData),
      client_data_json: toBase64url(assertion.response.clientDataJSON),
      signature: toBase64url(assertion.response.signature),
    },
  };
}
