/**
 * The provider sign-in's two routes: /ui/oidc/login sends the browser to the
 * provider (the sign-in's state, nonce and PKCE verifier sealed in a
 * short-lived cookie), /ui/oidc/callback checks the answer, opens the console
 * session and redirects to /ui, so neither the code nor any token stays in
 * the address bar or the history. A failure is a small page saying what went
 * wrong and linking back to the sign-in, never a stack.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { escapeHtml, htmlDocument } from "./html.ts";
import { SignInError, signInErrorOf } from "./oidc-errors.ts";
import { CALLBACK_PATH, type ConsoleOidc } from "./oidc.ts";
import { cookieValue, isSecureRequest, type ConsoleAuth } from "./session.ts";
import {
  clearSignInCookie,
  sessionCookie,
  signInCookie,
  SIGN_IN_COOKIE,
  SIGN_IN_PATH,
  type SignInTransaction,
} from "./user-session.ts";

export const SIGN_IN_URL = `${SIGN_IN_PATH}/login`;

/** Pure: the page a failed sign-in shows (styled by the console's own stylesheet; no script). */
export function signInErrorPage(error: SignInError): string {
  return htmlDocument(
    { title: `${error.title} · shardgate`, stylesheet: "/ui/assets/console.css" },
    `<main id="app"><section class="signin sign-in-problem">
<h1>shardgate</h1>
<h2>${escapeHtml(error.title)}</h2>
<p class="error" role="alert">${escapeHtml(error.message)}</p>
<p><a href="/ui/">Back to sign-in</a></p>
</section></main>`,
  );
}

export function oidcRoutes(
  app: FastifyInstance,
  auth: ConsoleAuth,
  oidc: ConsoleOidc,
  securityHeaders: (reply: FastifyReply) => FastifyReply,
): void {
  const problem = (request: FastifyRequest, reply: FastifyReply, error: unknown) => {
    const failure = signInErrorOf(error, oidc.settings.issuer);
    request.log.warn({ err: failure.cause ?? failure, reason: failure.message }, "console sign-in failed");
    return securityHeaders(reply)
      .code(failure.status)
      .header("cache-control", "no-store")
      .type("text/html; charset=utf-8")
      .send(signInErrorPage(failure));
  };

  app.get(SIGN_IN_URL, async (request, reply) => {
    try {
      const { url, transaction } = await oidc.begin();
      return securityHeaders(reply)
        .header("cache-control", "no-store")
        .header("set-cookie", signInCookie(auth.sealer, transaction, isSecureRequest(request)))
        .redirect(url.href, 302);
    } catch (error) {
      return problem(request, reply, error);
    }
  });

  app.get(CALLBACK_PATH, async (request, reply) => {
    // One use: whatever happens next, this sign-in is over.
    void reply.header("set-cookie", clearSignInCookie());
    const sealed = cookieValue(request.headers.cookie, SIGN_IN_COOKIE);
    const transaction = sealed ? auth.sealer.open<SignInTransaction>(SIGN_IN_COOKIE, sealed) : undefined;
    if (!transaction) {
      return problem(
        request,
        reply,
        new SignInError(
          "Sign-in expired",
          "This browser has no sign-in in progress (it took longer than ten minutes, or it was started elsewhere). Start again.",
          400,
        ),
      );
    }
    // The URL the provider redirected to: the configured one (behind Traefik the request's own
    // host and scheme may differ) with the query the provider added.
    const callback = new URL(oidc.settings.redirectUrl);
    callback.search = new URL(request.url, "http://callback.invalid").search;
    try {
      const identity = await oidc.finish(callback, transaction);
      request.log.info({ user: identity.subject, groups: identity.groups }, "console sign-in");
      return (
        securityHeaders(reply)
          .header("cache-control", "no-store")
          .header("set-cookie", sessionCookie(auth.sealer, identity, isSecureRequest(request)))
          // A provider sign-in replaces a key sign-in in this browser.
          .header("set-cookie", auth.clearCookie())
          .redirect("/ui/", 303)
      );
    } catch (error) {
      return problem(request, reply, error);
    }
  });
}
