/**
 * What a failed console sign-in tells the person in front of it: a title, one
 * readable sentence and an HTTP status, never a stack. openid-client wraps
 * oauth4webapi's checks in a ClientError whose cause says which check failed
 * ('unexpected "state" response parameter value', 'unexpected JWT "aud"
 * (audience) claim value'); the provider's own refusals arrive as
 * AuthorizationResponseError (the callback's ?error=) or ResponseBodyError
 * (the token endpoint's error body).
 */
import { AuthorizationResponseError, ClientError, ResponseBodyError } from "openid-client";
import { messageOf } from "../../util/index.ts";

export class SignInError extends Error {
  readonly title: string;
  readonly status: number;

  constructor(title: string, message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "SignInError";
    this.title = title;
    this.status = status;
  }
}

/** The innermost message of an error chain: oauth4webapi's precise one under openid-client's generic one. */
function innermost(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return messageOf(current);
}

function isNetworkError(error: unknown): boolean {
  if (error instanceof TypeError && /fetch failed/i.test(error.message)) return true;
  const name = (error as { name?: unknown } | null)?.name;
  return name === "TimeoutError" || name === "AbortError";
}

export function signInErrorOf(error: unknown, issuer: string): SignInError {
  if (error instanceof SignInError) return error;
  const options = { cause: error };
  if (error instanceof AuthorizationResponseError) {
    const detail = error.error_description ? `: ${error.error_description}` : "";
    if (error.error === "access_denied")
      return new SignInError(
        "Sign-in declined",
        `The provider did not sign you in (access_denied${detail}).`,
        403,
        options,
      );
    return new SignInError("Sign-in failed", `The provider answered ${error.error}${detail}.`, 502, options);
  }
  if (error instanceof ResponseBodyError) {
    const detail = error.error_description ? `: ${error.error_description}` : "";
    return new SignInError(
      "Sign-in failed",
      `The provider refused to complete the sign-in (${error.error}${detail}).`,
      502,
      options,
    );
  }
  if (isNetworkError(error)) {
    return new SignInError(
      "Identity provider unreachable",
      `Cannot reach the identity provider at ${issuer} (${innermost(error)}). Try again later, or sign in with an API key.`,
      502,
      options,
    );
  }
  if (error instanceof ClientError) {
    const detail = innermost(error);
    if (/"state"/.test(detail))
      return new SignInError(
        "Sign-in refused",
        "The answer from the provider does not belong to the sign-in this browser started (state mismatch). Start again.",
        400,
        options,
      );
    if (error.code === "OAUTH_RESPONSE_IS_NOT_CONFORM" || error.code === "OAUTH_RESPONSE_IS_NOT_JSON")
      return new SignInError(
        "Identity provider unusable",
        `The identity provider at ${issuer} answered unexpectedly (${detail}).`,
        502,
        options,
      );
    return new SignInError(
      "Sign-in refused",
      `The provider's answer failed validation: ${detail}.`,
      400,
      options,
    );
  }
  return new SignInError(
    "Sign-in failed",
    `The sign-in could not complete: ${innermost(error)}.`,
    500,
    options,
  );
}
