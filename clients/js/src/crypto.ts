/** Web Crypto on every platform: the global one (browsers, Node 19+, Deno, Bun, workers), or
 * node:crypto's on Node 18, where it is not global yet. */

let found: Promise<Crypto> | undefined;

export function webCrypto(): Promise<Crypto> {
  found ??= (async () => {
    const global = (globalThis as { crypto?: Crypto }).crypto;
    if (global?.subtle) return global;
    const name = "node:crypto"; // a variable: bundlers for browsers leave it alone
    const node = (await import(name)) as { webcrypto: Crypto };
    return node.webcrypto;
  })();
  return found;
}

export async function randomId(): Promise<string> {
  return (await webCrypto()).randomUUID();
}
