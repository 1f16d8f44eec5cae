/**
 * SigV4 for API Gateway endpoints, with AWS's own signer (`@smithy/signature-v4`), never a hand-rolled
 * one. The credentials come from the caller (the default chain in `api-client.ts`, fixed ones in tests).
 */
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

/** Credentials, or a provider of them, as the signer takes them. */
export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]["credentials"];

/** A request about to be sent: `headers` are the ones to sign and send; `host` is taken from the URL. */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Signs a request; resolves with every header to send (the given ones, `host`, `x-amz-date`, `authorization`...). */
export type RequestSigner = (request: SignableRequest) => Promise<Record<string, string>>;

/** True for an endpoint whose host is AWS's (`*.amazonaws.com`), i.e. API Gateway with IAM authorization. */
export function isAwsEndpoint(url: URL): boolean {
  return url.hostname === "amazonaws.com" || url.hostname.endsWith(".amazonaws.com");
}

/**
 * The region to sign for: the one in the host (`{api}.execute-api.{region}.amazonaws.com`), else the
 * standard `AWS_REGION` / `AWS_DEFAULT_REGION`; undefined when neither says.
 */
export function regionFor(url: URL, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const match = /\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com$/.exec(url.hostname);
  return match?.[1] ?? (env.AWS_REGION || undefined) ?? (env.AWS_DEFAULT_REGION || undefined);
}

/**
 * A signer for one region and service (`execute-api` for API Gateway). The payload is hashed but no
 * `x-amz-content-sha256` header is added: API Gateway does not need it, and AWS's published test
 * vectors are computed without it.
 */
export function createSigV4Signer(options: {
  readonly region: string;
  readonly credentials: SigningCredentials;
  readonly service?: string;
  /** The signing time; now by default (fixed in the test vectors). */
  readonly now?: () => Date;
}): RequestSigner {
  const signer = new SignatureV4({
    service: options.service ?? "execute-api",
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    applyChecksum: false,
  });
  const now = options.now ?? (() => new Date());
  return async (request) => {
    const query: Record<string, string | string[]> = {};
    for (const [key, value] of request.url.searchParams) {
      const previous = query[key];
      query[key] =
        previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
    }
    const signed = await signer.sign(
      new HttpRequest({
        method: request.method,
        protocol: request.url.protocol,
        hostname: request.url.hostname,
        ...(request.url.port ? { port: Number(request.url.port) } : {}),
        path: request.url.pathname,
        query,
        headers: { ...request.headers, host: request.url.host },
        ...(request.body !== undefined ? { body: request.body } : {}),
      }),
      { signingDate: now() },
    );
    return { ...signed.headers };
  };
}
