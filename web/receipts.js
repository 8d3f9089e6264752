/**
 * A deputy's receipts (docs/ledger.md "Receipts"): when a vote closes, the tablet fetches the signed
 * checkpoint and the inclusion proof of its own ballot, checks them (`ledger-proofs.js`) and keeps them
 * in the browser's storage, to save as a small file or show as a QR code. A receipt whose checkpoint
 * has fewer cosignatures than the council needs is kept as «очікує свідків» and fetched again until it
 * has them. `/receipt` («Перевірити свій голос») checks a receipt against the portal's ledger later.
 */

import { checkReceipt, fromBase64, toBase64 } from "./ledger-proofs.js";
import qrcode from "./vendor/qrcode-generator-2.0.4.mjs";

const KEPT = "kvorum.receipts";
const SIGNED = "kvorum.own-signatures";
const LIMIT = 1000; // receipts kept per device (the oldest go first): years of sittings

function read(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key) ?? "") ?? fallback;
  } catch {
    return fallback;
  }
}

/** Every receipt kept on this device, oldest first. */
export const keptReceipts = () => read(KEPT, []);

/** The receipt kept for this ballot, if any. */
export const keptReceipt = (session, seq) => keptReceipts().find((r) => r.session === session && r.seq === seq) ?? null;

/** Remember the signature this device made on a ballot, to know the receipt's ballot for its own. */
export function rememberSignature(session, vote, signature) {
  const signed = read(SIGNED, {});
  signed[`${session}/${vote}`] = signature;
  localStorage.setItem(SIGNED, JSON.stringify(signed));
}

const base64url = (bytes) => toBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/**
 * Fetch, check and keep the receipt of the ballot at `seq` of `session`, cast by `deputy` in `vote`:
 * the kept entry `{session, seq, vote, subject, receipt, hash, cosigned, needed, witnessed}`, or
 * `{error}` with a key of the tablet's strings when it does not hold.
 */
export async function keepReceipt({ session, seq, vote, subject, deputy, council }) {
  const response = await fetch(`/api/v1/sessions/${encodeURIComponent(session)}/ledger/receipt?seq=${seq}`);
  if (!response.ok) return { error: "receiptUnavailable" };
  const receipt = await response.json();
  const vkeys = (await (await fetch("/.well-known/kvorum/keys")).text()).split("\n").filter(Boolean);
  const checked = await checkReceipt(receipt, vkeys, council.witnesses ?? [], session); // this tablet's sitting
  if (!checked.ok) return { error: "receiptBroken" };
  const { type, payload } = checked.event;
  if (!["ballot.cast", "ballot.sealed", "ballot.encrypted"].includes(type) || payload.deputy !== deputy || payload.vote !== vote) {
    return { error: "receiptNotYours" };
  }
  const own = read(SIGNED, {})[`${session}/${vote}`];
  const signedHere = ["ballot.cast", "ballot.encrypted"].includes(type); // a sealed one's signature waits in its opening
  if (own && signedHere && payload.assertion?.signature !== own) return { error: "receiptNotYours" };
  const needed = council.witnesses_needed ?? 0;
  const entry = {
    session,
    seq,
    vote,
    subject,
    receipt,
    hash: toBase64(checked.hash),
    cosigned: checked.cosigned,
    needed,
    witnessed: checked.cosigned.length >= needed,
    kept_at: new Date().toISOString(),
  };
  const others = keptReceipts().filter((r) => !(r.session === session && r.seq === seq));
  localStorage.setItem(KEPT, JSON.stringify([...others, entry].slice(-LIMIT)));
  return entry;
}

/** Save the receipt as a file (`kvorum-receipt-<session>-<seq>.json`), what `kvorum verify --receipt` reads. */
export function saveReceiptFile(entry) {
  const blob = new Blob([JSON.stringify(entry.receipt, null, 1)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `kvorum-receipt-${entry.session}-${entry.seq}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/**
 * The receipt's address for a QR code: the page «Перевірити свій голос» with what the ballot is
 * checked by in its fragment (the sitting, the ballot's index and leaf hash, the checkpoint's size and
 * root) — never sent to the server; the page fetches the proofs from the portal's ledger.
 */
export function receiptUrl(entry, origin = location.origin) {
  const note = entry.receipt.checkpoint.split("\n");
  const fields = new URLSearchParams({
    s: entry.session,
    i: String(entry.receipt.index),
    h: base64url(fromBase64(entry.hash)),
    n: String(entry.receipt.size),
    r: base64url(fromBase64(note[2])),
  });
  return `${origin}/receipt#${fields}`;
}

/** A data URL of the receipt's QR code. */
export function receiptQr(entry) {
  const qr = qrcode(0, "M");
  qr.addData(receiptUrl(entry));
  qr.make();
  return qr.createDataURL(4, 2);
}
