// Runs verifyConsent from the command line: reads {"token", "keys", "now"?, "maxAge"?} as JSON
// on stdin (or a JSON array of them) and prints the result(s) as JSON. Used by the tests.
//
//   echo '{"token": "...", "keys": ["<site key>"]}' | node docs/snippets/verify_token_cli.mjs

import { verifyConsent } from "./verify_token.mjs";

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
});
process.stdin.on("end", () => {
  const request = JSON.parse(input);
  const check = ({ token, keys, now, maxAge }) => verifyConsent(token, keys, { now, maxAge });
  const result = Array.isArray(request) ? request.map(check) : check(request);
  process.stdout.write(`${JSON.stringify(result)}\n`);
});
