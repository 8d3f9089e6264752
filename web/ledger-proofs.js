/**
 * The ledger's proofs checked in the browser, with its own code and the browser's WebCrypto (SHA-256,
 * Ed25519): C2SP signed notes and checkpoints, the council's signature and the witnesses'
 * cosignatures (`cosignature/v1`), RFC 9162 inclusion and consistency proofs. What a deputy's tablet
 * checks before it keeps a receipt, and what the page «Перевірити свій голос» checks again against the
 * portal's ledger. docs/ledger.md gives the formats; `voting/` is the same in Python.
 */

const encoder = new TextEncoder();

/** Standard base64 (with padding) to bytes; throws on anything else. */
export function fromBase64(text) {
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Bytes to standard base64 with padding. */
export function toBase64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

const equal = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i]);

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** RFC 9162 leaf hash: SHA-256(0x00 || leaf). */
export const leafHash = (leaf) => sha256(concat(Uint8Array.of(0), leaf));
const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

/** A signed note: its body (final newline included), the checkpoint in it and its signature lines. */
export function parseNote(note) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new Error("not a signed note");
  const body = note.slice(0, split + 1);
  const lines = body.split("\n");
  if (lines.length !== 4) throw new Error("a checkpoint is three lines");
  const [origin, size, root] = lines;
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new Error("the tree size is not a number");
  const signatures = note
    .slice(split + 2, -1)
    .split("\n")
    .map((line) => {
      const match = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!match) throw new Error("a signature line is «— name signature»");
      return { name: match[1], bytes: fromBase64(match[2]) };
    });
  return { body: encoder.encode(body), origin, size: Number(size), root: fromBase64(root), signatures };
}

/** A verifier key `<name>+<key ID hex>+base64(type || key)`: its name, key ID, type byte and key. */
export function parseVkey(text) {
  const first = text.indexOf("+");
  const second = text.indexOf("+", first + 1);
  if (first < 1 || second < 0) throw new Error("a key is name+keyid+key");
  const raw = fromBase64(text.slice(second + 1));
  return { name: text.slice(0, first), keyId: text.slice(first + 1, second), type: raw[0], key: raw.slice(1) };
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** A verifier key whose key ID is its own: SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4]; else null. */
async function ownedVkey(text) {
  let vkey;
  try {
    vkey = parseVkey(text);
  } catch {
    return null;
  }
  const id = await sha256(concat(encoder.encode(`${vkey.name}\n`), Uint8Array.of(vkey.type), vkey.key));
  return hex(id.slice(0, 4)) === vkey.keyId && vkey.key.length === 32 ? vkey : null;
}

async function ed25519Verify(key, signature, message) {
  const imported = await crypto.subtle.importKey("raw", key, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, imported, signature, message);
}

/** Whether one of the council's verifier keys (type 0x01) signed the note. */
export async function councilSigned(note, vkeys) {
  for (const text of vkeys) {
    const vkey = await ownedVkey(text);
    if (vkey?.type !== 0x01) continue;
    for (const line of note.signatures) {
      if (line.name !== vkey.name || hex(line.bytes.slice(0, 4)) !== vkey.keyId || line.bytes.length !== 68) continue;
      if (await ed25519Verify(vkey.key, line.bytes.slice(4), note.body)) return true;
    }
  }
  return false;
}

/** The names of the witnesses (`{name, key}`, key a cosignature/v1 verifier key) whose cosignature verifies. */
export async function cosignedBy(note, witnesses) {
  const found = [];
  const counted = new Set(); // one public key is one witness, whatever names it is listed under
  for (const witness of witnesses) {
    const vkey = await ownedVkey(witness.key);
    if (vkey?.type !== 0x04 || counted.has(hex(vkey.key))) continue;
    for (const line of note.signatures) {
      if (line.name !== vkey.name || hex(line.bytes.slice(0, 4)) !== vkey.keyId || line.bytes.length !== 76) continue;
      const time = new DataView(line.bytes.buffer, line.bytes.byteOffset + 4, 8).getBigUint64(0);
      const message = concat(encoder.encode(`cosignature/v1\ntime ${time}\n`), note.body);
      if (await ed25519Verify(vkey.key, line.bytes.slice(12), message)) {
        found.push(vkey.name);
        counted.add(hex(vkey.key));
        break;
      }
    }
  }
  return found;
}

/** RFC 9162 §2.1.3.2: whether the leaf hash is at `index` of the tree of `size` with `root`. */
export async function inclusionHolds(hash, index, size, proof, root) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || !(index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = hash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn !== 0 && fn % 2 === 0) [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
    } else {
      r = await nodeHash(r, p);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  return sn === 0 && equal(r, root);
}

/** RFC 9162 §2.1.4.2: whether the tree of `newSize` with `newRoot` extends the one of `oldSize` with `oldRoot`. */
export async function consistencyHolds(oldSize, newSize, oldRoot, newRoot, proof) {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || !(oldSize > 0 && oldSize <= newSize)) {
    return false;
  }
  if (oldSize === newSize) return proof.length === 0 && equal(oldRoot, newRoot);
  if (proof.length === 0) return false;
  const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn !== 0 && fn % 2 === 0) [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
    } else {
      sr = await nodeHash(sr, c);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}

/** Whether a checkpoint's origin is that of the sitting `session`: `<origin>/<council>/<session>`. */
export const isSittingOrigin = (origin, session) => typeof session === "string" && origin.endsWith(`/${session}`);

/**
 * A receipt (kvorum-receipt-v1) checked in itself: its checkpoint signed by a council key for the sitting
 * `session` (the one the caller knows, not what the receipt says), its leaf, an event of that sitting,
 * under that checkpoint's root. `{ok, note, leaf, event, hash, cosigned}` or `{ok: false, why}`; `why` is a
 * key of the page's strings.
 */
export async function checkReceipt(receipt, vkeys, witnesses, session = receipt.session) {
  let note;
  let leaf;
  try {
    if (receipt.format !== "kvorum-receipt-v1") return { ok: false, why: "notReceipt" };
    note = parseNote(receipt.checkpoint);
    leaf = fromBase64(receipt.leaf);
  } catch {
    return { ok: false, why: "notReceipt" };
  }
  if (note.size !== receipt.size || !isSittingOrigin(note.origin, session)) return { ok: false, why: "notReceipt" };
  if (!(await councilSigned(note, vkeys))) return { ok: false, why: "badCheckpoint" };
  const hash = await leafHash(leaf);
  const proof = receipt.hashes.map(fromBase64);
  if (!(await inclusionHolds(hash, receipt.index, receipt.size, proof, note.root))) {
    return { ok: false, why: "badProof" };
  }
  const event = JSON.parse(new TextDecoder().decode(leaf));
  if (event.stream !== `session:${session}`) return { ok: false, why: "badProof" };
  return { ok: true, note, leaf, event, hash, cosigned: await cosignedBy(note, witnesses) };
}
