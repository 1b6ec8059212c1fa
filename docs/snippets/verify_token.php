<?php
// Checks a Zgoda consent token (the `zgoda_consent` cookie) in a site's own PHP backend.
//
// Needs PHP 8 and nothing beyond its core (hash_hmac, hash_equals, json). The site's key
// comes from `flask --app app tokens site-key <site>` (one line per key, newest last).
//
//   require __DIR__ . '/verify_token.php';
//   $result = verify_consent($_COOKIE['zgoda_consent'] ?? '', [getenv('ZGODA_SITE_KEY')]);
//   if ($result['valid']) { $result['consent']['choices']['statistics'] ... }
//   else { $result['reason'] ... }
//
// The token is itsdangerous's URLSafeTimedSerializer output, which this file reproduces:
//   token     = payload "." timestamp "." signature      (each base64url, no padding)
//   payload   = JSON of the consent, never zlib-compressed (Zgoda's serializer does not
//               compress, so itsdangerous's "." compression prefix never occurs)
//   timestamp = the signing time in seconds, big-endian, leading zero bytes dropped
//   signature = HMAC-SHA256(key, payload "." timestamp), with
//   key       = SHA-256("zgoda.consent-token" . "signer" . site key)   ("django-concat")

declare(strict_types=1);

const ZGODA_TOKEN_SALT = 'zgoda.consent-token';
const ZGODA_MAX_TOKEN_LENGTH = 4096; // Zgoda's own limit; a cookie cannot be longer anyway
const ZGODA_MAX_TIMESTAMP = 253402300799; // 9999-12-31T23:59:59Z, as Zgoda checks
const ZGODA_UUID = '/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/D';

/**
 * The consent a token carries, or why it carries none.
 *
 * $siteKeys: the site's key, or its keys newest last (during a rotation).
 * $options: 'now' (Unix seconds, default the clock); 'maxAge' (also refuse a token signed
 * longer ago than this many seconds).
 * Returns ['valid' => true, 'consent' => [...]] or ['valid' => false, 'reason' => 'malformed' |
 * 'bad_signature' | 'expired', 'message' => ...].
 */
function verify_consent(string $token, string|array $siteKeys, array $options = []): array
{
    $keys = array_map(
        static fn ($key): string => is_string($key) ? trim($key) : '',
        is_array($siteKeys) ? array_values($siteKeys) : [$siteKeys],
    );
    if ($keys === [] || in_array('', $keys, true)) {
        // A configuration mistake, not a visitor's: it would refuse every token.
        throw new InvalidArgumentException("verify_consent needs the site's key(s) as non-empty strings");
    }
    $now = $options['now'] ?? microtime(true);
    $maxAge = $options['maxAge'] ?? null;
    if (strlen($token) > ZGODA_MAX_TOKEN_LENGTH) {
        return zgoda_refused('malformed', 'not a consent token');
    }
    $parts = explode('.', $token);
    if (count($parts) !== 3 || preg_grep('/^[A-Za-z0-9_-]+$/D', $parts, PREG_GREP_INVERT) !== []) {
        return zgoda_refused('malformed', 'not a consent token');
    }
    // The signature is checked before anything in the token is read.
    [$payloadPart, $timestampPart, $signaturePart] = $parts;
    $signed = $payloadPart . '.' . $timestampPart;
    $matches = false;
    foreach ($keys as $key) {
        // hash_equals takes constant time: a comparison that stops at the first difference
        // tells a forger how far a guessed signature is right.
        $matches = hash_equals(zgoda_signature($key, $signed), $signaturePart) || $matches;
    }
    if (!$matches) {
        return zgoda_refused('bad_signature', "the signature does not match the site's key");
    }
    $signedAt = zgoda_read_timestamp($timestampPart);
    $payload = zgoda_read_payload($payloadPart);
    if ($signedAt === null || $payload === null) {
        return zgoda_refused('malformed', 'a signed token of an unknown shape');
    }
    if ($payload->exp <= $now || ($maxAge !== null && $now - $signedAt > $maxAge)) {
        return zgoda_refused('expired', 'the consent has expired');
    }
    return ['valid' => true, 'consent' => zgoda_consent_of($payload, $signedAt)];
}

function zgoda_refused(string $reason, string $message): array
{
    return ['valid' => false, 'reason' => $reason, 'message' => $message];
}

function zgoda_base64url_encode(string $bytes): string
{
    return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
}

function zgoda_base64url_decode(string $text): ?string
{
    $bytes = base64_decode(strtr($text, '-_', '+/') . str_repeat('=', (4 - strlen($text) % 4) % 4), true);
    return $bytes === false ? null : $bytes;
}

function zgoda_signature(string $siteKey, string $signed): string
{
    $key = hash('sha256', ZGODA_TOKEN_SALT . 'signer' . $siteKey, true);
    return zgoda_base64url_encode(hash_hmac('sha256', $signed, $key, true));
}

function zgoda_read_timestamp(string $part): ?int
{
    $bytes = zgoda_base64url_decode($part);
    if ($bytes === null || $bytes === '' || strlen($bytes) > 8) {
        return null;
    }
    $seconds = 0;
    foreach (str_split($bytes) as $byte) {
        $seconds = $seconds * 256 + ord($byte);
        if ($seconds > ZGODA_MAX_TIMESTAMP) {
            return null;
        }
    }
    return $seconds;
}

function zgoda_read_payload(string $part): ?object
{
    $json = zgoda_base64url_decode($part);
    if ($json === null) {
        return null;
    }
    try {
        // Objects stay objects (not arrays), so {} and [] are told apart as JSON tells them.
        $payload = json_decode($json, false, 64, JSON_THROW_ON_ERROR);
    } catch (JsonException) {
        return null;
    }
    return zgoda_is_consent_payload($payload) ? $payload : null;
}

// The shape Zgoda signs (zgoda/consent/tokens.py, TokenPayload); anything else is refused.
function zgoda_is_consent_payload(mixed $p): bool
{
    if (!$p instanceof stdClass) {
        return false;
    }
    foreach (['v', 'site', 'cid', 'nv', 'ch', 'ph', 'cm', 'gpc', 'iat', 'exp'] as $field) {
        if (!property_exists($p, $field)) {
            return false;
        }
    }
    if ($p->v !== 1 || !zgoda_is_short($p->site) || !zgoda_is_short($p->nv)) {
        return false;
    }
    if (!is_string($p->cid) || preg_match(ZGODA_UUID, $p->cid) !== 1) {
        return false;
    }
    if (!$p->ch instanceof stdClass || !$p->ph instanceof stdClass || !is_array($p->cm)) {
        return false;
    }
    foreach ($p->ch as $purpose => $flag) {
        if (!zgoda_is_short((string) $purpose) || !zgoda_is_flag($flag)) {
            return false;
        }
    }
    foreach ($p->ph as $purpose => $hash) {
        if (!zgoda_is_short((string) $purpose) || !zgoda_is_short($hash)) {
            return false;
        }
    }
    foreach ($p->cm as $type) {
        if (!zgoda_is_short($type)) {
            return false;
        }
    }
    return zgoda_is_flag($p->gpc) && zgoda_is_timestamp($p->iat) && zgoda_is_timestamp($p->exp);
}

function zgoda_is_short(mixed $value): bool
{
    // Counted in characters, as Python counts them, not in bytes (PCRE's /u: no mbstring).
    return is_string($value) && preg_match('/^.{1,64}$/Dsu', $value) === 1;
}

function zgoda_is_flag(mixed $value): bool
{
    return $value === 0 || $value === 1;
}

function zgoda_is_timestamp(mixed $value): bool
{
    return is_int($value) && $value >= 0 && $value <= ZGODA_MAX_TIMESTAMP;
}

function zgoda_consent_of(object $p, int $signedAt): array
{
    $choices = new stdClass(); // stays a JSON object even with no purposes
    foreach ($p->ch as $purpose => $flag) {
        $choices->{$purpose} = $flag === 1;
    }
    return [
        'consentId' => $p->cid,
        'site' => $p->site,
        'noticeVersion' => $p->nv, // compare with the banner's notice_version to tell a stale choice
        'choices' => $choices,
        'consentModeGranted' => $p->cm,
        'gpc' => $p->gpc === 1,
        'issuedAt' => $p->iat,
        'expiresAt' => $p->exp,
        'signedAt' => $signedAt,
    ];
}
