<?php
// Runs verify_consent from the command line: reads {"token", "keys", "now"?, "maxAge"?} as JSON
// on stdin (or a JSON array of them) and prints the result(s) as JSON. Used by the tests.
//
//   echo '{"token": "...", "keys": ["<site key>"]}' | php docs/snippets/verify_token_cli.php

declare(strict_types=1);

require __DIR__ . '/verify_token.php';

$request = json_decode(stream_get_contents(STDIN), true, 16, JSON_THROW_ON_ERROR);
$check = static fn (array $case): array => verify_consent(
    $case['token'],
    $case['keys'],
    array_filter(['now' => $case['now'] ?? null, 'maxAge' => $case['maxAge'] ?? null], 'is_numeric'),
);
$result = array_is_list($request) ? array_map($check, $request) : $check($request);
echo json_encode($result, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES), "\n";
