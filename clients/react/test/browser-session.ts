/**
 * A signed-in gallery user, the way a browser is one: the real /login form, a cookie jar, and the page's CSRF token
 * from `<meta name="csrf-token">`. The `fetch` it gives sends the jar's cookies on every call to the server, as a
 * browser does for `credentials: "same-origin"` (Node's fetch keeps no cookies of its own).
 */
import { server } from "./helpers.js";

export interface BrowserSession {
  fetch: typeof globalThis.fetch;
  csrfToken: string;
  cookies: Map<string, string>;
}

export async function signIn(email: string, password: string): Promise<BrowserSession> {
  const cookies = new Map<string, string>();
  const remember = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair!.indexOf("=");
      const [name, value] = [pair!.slice(0, at).trim(), pair!.slice(at + 1).trim()];
      if (/expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line)) cookies.delete(name);
      else cookies.set(name, value);
    }
  };
  const withCookies = (init: RequestInit = {}): RequestInit => {
    const headers = new Headers(init.headers);
    if (cookies.size) headers.set("Cookie", [...cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    return { ...init, headers, redirect: "manual" };
  };
  const fetchWithJar: typeof globalThis.fetch = async (input, init) => {
    const response = await globalThis.fetch(input, withCookies(init));
    remember(response);
    return response;
  };
  /** GET a page, following redirects, and return its HTML. */
  const page = async (path: string): Promise<string> => {
    let url = new URL(path, server.baseUrl).href;
    for (let hop = 0; hop < 5; hop++) {
      const response = await fetchWithJar(url);
      if (response.status >= 300 && response.status < 400) {
        url = new URL(response.headers.get("Location")!, url).href;
        await response.arrayBuffer();
        continue;
      }
      if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
      return await response.text();
    }
    throw new Error(`too many redirects from ${path}`);
  };
  const metaCsrf = (html: string) => {
    const found = /<meta name="csrf-token" content="([^"]+)"/.exec(html);
    if (!found) throw new Error("no <meta name=\"csrf-token\"> on the page");
    return found[1]!;
  };

  const form = metaCsrf(await page("/login"));
  const posted = await fetchWithJar(`${server.baseUrl}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email, password, csrf_token: form }).toString(),
  });
  await posted.arrayBuffer();
  if (posted.status !== 302) throw new Error(`sign-in answered ${posted.status}, not a redirect`);
  // Signing in starts a fresh session: the CSRF token of any page from now on is the one to send.
  const csrfToken = metaCsrf(await page("/"));
  return { fetch: fetchWithJar, csrfToken, cookies };
}
