/** Text in HTML: what the report and the graph page escape every name and value with. */

/**
 * `text` safe in HTML element content and in double- or single-quoted attributes.
 *
 * @example
 * escapeHtml(`<b title="x">`); // "&lt;b title=&quot;x&quot;&gt;"
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
