// The group operations Kvorum's secret ballots need, from @noble/curves and @noble/hashes (MIT):
// the Ed25519 prime-order group (points, the scalar field) and SHA-512.
export { ed25519 } from "@noble/curves/ed25519.js";
export { bytesToNumberLE, numberToBytesLE } from "@noble/curves/utils.js";
export { sha512 } from "@noble/hashes/sha2.js";
