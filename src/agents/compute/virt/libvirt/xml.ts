// A small typed XML renderer for libvirt documents. Every text and attribute value goes
// through `escapeXml`, so no value (a display name, a path) can close an element or open a
// new one: XML is only ever built from nodes, never by pasting strings.

export type XmlAttrs = Record<string, string | number | undefined>;
export type XmlNode = { name: string; attrs: XmlAttrs; children: Array<XmlNode | string> };

/** An element; attributes whose value is undefined are left out. */
export function el(name: string, attrs: XmlAttrs = {}, ...children: Array<XmlNode | string | null | undefined | false>): XmlNode {
  return { name, attrs, children: children.filter((c): c is XmlNode | string => c !== null && c !== undefined && c !== false) };
}

// XML 1.0 cannot carry these even as character references (&#1; is not well-formed), so
// libvirt would refuse the document: they become U+FFFD instead.
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Escapes text and attribute values (both quote kinds, so either quoting style is safe). */
export function escapeXml(value: string): string {
  return value.replace(NOT_XML_CHAR, '\ufffd')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/** Renders with two-space indentation; an element holding only text stays on one line. */
export function renderXml(node: XmlNode, depth = 0): string {
  const pad = '  '.repeat(depth);
  const attrs = Object.entries(node.attrs)
    .filter((a): a is [string, string | number] => a[1] !== undefined)
    .map(([k, v]) => ` ${k}='${escapeXml(String(v))}'`).join('');
  if (node.children.length === 0) return `${pad}<${node.name}${attrs}/>\n`;
  const texts = node.children.filter((c) => typeof c === 'string');
  if (texts.length === node.children.length) {
    return `${pad}<${node.name}${attrs}>${texts.map(escapeXml).join('')}</${node.name}>\n`;
  }
  const inner = node.children.map((c) => (typeof c === 'string' ? `${pad}  ${escapeXml(c)}\n` : renderXml(c, depth + 1))).join('');
  return `${pad}<${node.name}${attrs}>\n${inner}${pad}</${node.name}>\n`;
}
