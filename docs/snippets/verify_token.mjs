// Checks a Zgoda consent token (the `zgoda_consent` cookie) in a site's own Node.js backend.
//
// Needs only Node's `crypto` (Node 16+). The site's key comes from
// `flask --app app tokens site-key <site>` (one line per key, newest last).
//
//   import { verifyConsent } from "./verify_token.mjs";
//   const result = verifyConsent(request.cookies.zgoda_consent, [process.env.ZGODA_SITE_KEY]);
//   if (result.valid) { result.consent.choices.statistics ... } else { result.reason ... }
//
// The token is itsdangerous's URLSafeTimedSerializer output, which this file reproduces:
//   token     = payload "." timestamp "." signature      (each base64url, no padding)
//   payload   = JSON of the consent, never zlib-compressed (Zgoda's serializer does not
//               compress, so itsdangerous's "." compression prefix never occurs)
//   timestamp = the signing time in seconds, big-endian, leading zero bytes dropped
//   signature = HMAC-SHA256(key, payload "." timestamp), with
//   key       = SHA-256("zgoda.consent-token" + "signer" + site key)   ("django-concat")

import { createHash, createHmac, timingSafeEqual } from "node:crypto";

const SALT = "zgoda.consent-token";
const MAX_TOKEN_LENGTH = 4096; // Zgoda's own limit; a cookie cannot be longer anyway
const MAX_TIMESTAMP = 253402300799; // 9999-12-31T23:59:59Z, as Zgoda checks
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The consent a token carries, or why it carries none.
 *
 * @param {string} token the cookie's value
 * @param {string | string[]} siteKeys the site's key, or its keys newest last (during a rotation)
 * @param {{now?: number, maxAge?: number}} [options] now: Unix seconds (default: the clock);
 *   maxAge: also refuse a token signed longer ago than this many seconds
 * @returns {{valid: true, consent: object} | {valid: false, reason: string, message: string}}
 *   reason is "malformed", "bad_signature" or "expired"
 */
export function verifyConsent(token, siteKeys, { now = Date.now() / 1000, maxAge } = {}) {
  const keys = (Array.isArray(siteKeys) ? siteKeys : [siteKeys]).map((key) =>
    typeof key === "string" ? key.trim() : "",
  );
  if (keys.length === 0 || keys.includes("")) {
    // A configuration mistake, not a visitor's: it would refuse every token.
    throw new TypeError("verifyConsent needs the site's key(s) as non-empty strings");
  }
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) {
    return refused("malformed", "not a consent token");
  }
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
    return refused("malformed", "not a consent token");
  }
  // The signature is checked before anything in the token is read.
  const [payloadPart, timestampPart, signaturePart] = parts;
  const signed = `${payloadPart}.${timestampPart}`;
  if (!keys.some((key) => sameText(signature(key, signed), signaturePart))) {
    return refused("bad_signature", "the signature does not match the site's key");
  }
  const signedAt = readTimestamp(timestampPart);
  const payload = readPayload(payloadPart);
  if (signedAt === null || payload === null) {
    return refused("malformed", "a signed token of an unknown shape");
  }
  if (payload.exp <= now || (maxAge !== undefined && now - signedAt > maxAge)) {
    return refused("expired", "the consent has expired");
  }
  return { valid: true, consent: consentOf(payload, signedAt) };
}

function refused(reason, message) {
  return { valid: false, reason, message };
}

function signature(siteKey, signed) {
  const key = createHash("sha256").update(`${SALT}signer${siteKey}`, "utf8").digest();
  return createHmac("sha256", key).update(signed, "ascii").digest("base64url");
}

// Constant-time: a comparison that stops at the first difference tells a forger how far
// a guessed signature is right. Only the canonical base64url of the HMAC is accepted.
function sameText(expected, given) {
  const a = Buffer.from(expected, "ascii");
  const b = Buffer.from(given, "ascii");
  return a.length === b.length && timingSafeEqual(a, b);
}

function readTimestamp(part) {
  const bytes = Buffer.from(part, "base64url");
  if (bytes.length === 0 || bytes.length > 8) return null;
  let seconds = 0;
  for (const byte of bytes) {
    seconds = seconds * 256 + byte;
    if (seconds > MAX_TIMESTAMP) return null;
  }
  return seconds;
}

function readPayload(part) {
  let payload;
  try {
    payload = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  return isConsentPayload(payload) ? payload : null;
}

// The shape Zgoda signs (zgoda/consent/tokens.py, TokenPayload); anything else is refused.
function isConsentPayload(p) {
  return (
    isObject(p) &&
    p.v === 1 &&
    isShort(p.site) &&
    typeof p.cid === "string" &&
    UUID.test(p.cid) &&
    isShort(p.nv) &&
    isObject(p.ch) &&
    Object.entries(p.ch).every(([purpose, flag]) => isShort(purpose) && isFlag(flag)) &&
    isObject(p.ph) &&
    Object.entries(p.ph).every(([purpose, hash]) => isShort(purpose) && isShort(hash)) &&
    Array.isArray(p.cm) &&
    p.cm.every(isShort) &&
    isFlag(p.gpc) &&
    isTimestamp(p.iat) &&
    isTimestamp(p.exp)
  );
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isShort(value) {
  // Counted in characters, as Python counts them, not in UTF-16 units.
  return typeof value === "string" && value.length >= 1 && [...value].length <= 64;
}

function isFlag(value) {
  return value === 0 || value === 1;
}

function isTimestamp(value) {
  return Number.isInteger(value) && value >= 0 && value <= MAX_TIMESTAMP;
}

function consentOf(p, signedAt) {
  // fromEntries defines own properties: a purpose named "__proto__" stays a purpose.
  const choices = Object.fromEntries(Object.entries(p.ch).map(([id, flag]) => [id, flag === 1]));
  return {
    consentId: p.cid,
    site: p.site,
    noticeVersion: p.nv, // compare with the banner's notice_version to tell a stale choice
    choices,
    consentModeGranted: [...p.cm],
    gpc: p.gpc === 1,
    issuedAt: p.iat,
    expiresAt: p.exp,
    signedAt,
  };
}
