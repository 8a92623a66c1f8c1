// Base64, as events travel (`data=` of /track) and as Kubernetes holds
// secret data.

/** Standard base64 (with padding) of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  // Chunks keep String.fromCharCode's argument list short.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Base64 in the standard or URL-safe alphabet (or a mix), padded or not; null
 * when it is not base64. White space is not skipped: strip it first where a
 * format allows it.
 */
export function decodeBase64(value: string): Uint8Array | null {
  let s = value.replaceAll("-", "+").replaceAll("_", "/");
  s = s.replace(/={1,2}$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return null;
  s += "=".repeat((4 - (s.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(s);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
