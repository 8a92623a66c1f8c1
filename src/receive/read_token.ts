// The read token: /events, /metrics and the pages answer only a reader that
// presents it (a bearer token, or Basic credentials whose password is the
// token, any user name, as Prometheus' basic_auth sends it); /healthz answers
// everyone, and says more to a reader. The app checks it in one small
// middleware on Hono's context (app.ts), which sets whether the request comes
// from a reader as a variable of the context.
//
// Hono's bearer-auth and basic-auth middleware each take one scheme, hash
// both sides of every comparison (asynchronously), and accept only token68
// characters after "Bearer": a read token is any text a user sets, sent
// either way. So the check is here; Basic credentials are parsed by Hono's
// own helper, and compared in constant time.

import { auth } from "hono/utils/basic-auth";
import { textAnswer } from "./answers.ts";

/** Whether `req` presents `token`: as a bearer token, or as the password of Basic credentials. */
export function presentsToken(req: Request, token: string): boolean {
  const header = req.headers.get("authorization");
  if (header === null) return false;
  if (/^bearer\s/i.test(header)) {
    return sameText(header.slice(7).trim(), token);
  }
  const basic = auth(req);
  return basic !== undefined && sameText(basic.password, token);
}

/** The user name of Basic credentials (Mixpanel's project-token authentication of /import). */
export function basicUser(req: Request): string | undefined {
  return auth(req)?.username || undefined;
}

/** The answer to a request without the read token. */
export function unauthorized(): Response {
  return textAnswer(
    401,
    "this page needs the receiver's read token: Authorization: Bearer <token>, or any user name with the token as password\n",
    {
      "www-authenticate": 'Basic realm="hodometer receiver", charset="UTF-8"',
    },
  );
}

const encoder = new TextEncoder();

/** Compares in time independent of where the texts differ. */
function sameText(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}
