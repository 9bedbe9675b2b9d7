/** Checks on the HTML memopipe writes. */

/**
 * Every reference to something outside the page: a src/href/xlink:href/action that is not a
 * fragment or data:, CSS url(…) or @import, and any http(s):// or //host text except the XML
 * namespace names of inline SVG.
 */
export function outsideReferences(html: string): string[] {
  const found: string[] = [];
  for (const m of html.matchAll(/\b(?:src|href|xlink:href|action|srcset|poster|data)\s*=\s*["']?([^"'\s>]*)/gi)) {
    if (!m[1]!.startsWith("#") && !m[1]!.startsWith("data:")) found.push(m[0]);
  }
  for (const m of html.matchAll(/url\(\s*["']?([^"')]*)/gi)) if (!m[1]!.startsWith("#") && !m[1]!.startsWith("data:")) found.push(m[0]);
  for (const m of html.matchAll(/@import[^;]*/gi)) found.push(m[0]);
  const namespaces = /xmlns(?::\w+)?="http:\/\/www\.w3\.org\/(?:2000\/svg|1999\/xlink)"/g;
  for (const m of html.replace(namespaces, "").matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi)) found.push(m[0]);
  return found;
}
