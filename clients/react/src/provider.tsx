import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { createContext, useContext, useMemo, useRef, type ReactElement, type ReactNode } from "react";
import { createAeontelClient, type AeontelClient, type AeontelConfig } from "./client.js";

const AeontelContext = createContext<AeontelClient | null>(null);

export type AeontelProviderProps = AeontelConfig & {
  /**
   * The app's QueryClient. When given, the provider also renders its `QueryClientProvider`; leave it out when the
   * app already has one above this provider.
   */
  queryClient?: QueryClient;
  children?: ReactNode;
};

/**
 * Configures the hooks below it: where the API is and how to authenticate.
 *
 * ```tsx
 * <AeontelProvider baseUrl="https://images.example.com" token={token} queryClient={queryClient}>…</AeontelProvider>
 * <AeontelProvider credentials="same-origin" csrfToken={readMetaCsrf} queryClient={queryClient}>…</AeontelProvider>
 * ```
 */
export function AeontelProvider(props: AeontelProviderProps): ReactElement {
  const { queryClient, children, baseUrl, fetch, token, credentials, csrfToken } = props;
  // Functions given inline change on every render; read the latest through refs so the client stays the same.
  const latest = useRef({ token, csrfToken, fetch });
  latest.current = { token, csrfToken, fetch };
  // The client reads the current token, CSRF token and fetch at each call, so it only changes with the mode.
  const tokenKind = token === undefined ? "none" : "token";
  const hasFetch = fetch !== undefined;
  const client = useMemo(() => {
    const fetcher: typeof globalThis.fetch | undefined = hasFetch
      ? (input, init) => latest.current.fetch!(input, init)
      : undefined;
    if (tokenKind !== "none") {
      return createAeontelClient({
        baseUrl,
        fetch: fetcher,
        token: () => {
          const current = latest.current.token;
          if (current === undefined) throw new Error("AeontelProvider: the token went away");
          return typeof current === "function" ? current() : current;
        },
      });
    }
    if (credentials === undefined) {
      throw new Error("AeontelProvider needs either `token` or `credentials` (\"same-origin\" with `csrfToken`).");
    }
    return createAeontelClient({
      baseUrl,
      fetch: fetcher,
      credentials,
      csrfToken: () => {
        const current = latest.current.csrfToken;
        return typeof current === "function" ? current() : current;
      },
    });
  }, [baseUrl, tokenKind, credentials, hasFetch]);

  const provided = <AeontelContext.Provider value={client}>{children}</AeontelContext.Provider>;
  return queryClient ? <QueryClientProvider client={queryClient}>{provided}</QueryClientProvider> : provided;
}

/** The configured client, for calls the hooks do not cover. Throws outside an `AeontelProvider`. */
export function useAeontelClient(): AeontelClient {
  const client = useContext(AeontelContext);
  if (client === null) {
    throw new Error("useAeontelClient and the aeontel hooks must be used inside <AeontelProvider>.");
  }
  return client;
}

/** The configured client, or null outside an `AeontelProvider` (hooks that can do without one). */
export function useOptionalAeontelClient(): AeontelClient | null {
  return useContext(AeontelContext);
}
