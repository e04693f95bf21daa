// Reading libvirt's XML (domain descriptions, capabilities) with fast-xml-parser into a
// uniform tree: every element is an object, every child list an array, attributes under
// `$`, text under `#text`. Values stay strings (no number guessing: a uuid or a MAC address
// must come back exactly as written).
import { XMLParser } from 'fast-xml-parser';

export type XmlElement = { [child: string]: unknown };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '$',
  parseTagValue: false,
  parseAttributeValue: false,
  alwaysCreateTextNode: true,
  trimValues: true,
  isArray: () => true,
  processEntities: true,
  htmlEntities: false,
});

/** The document's root element named `root`; throws when the text is not that document. */
export function parseXmlRoot(xml: string, root: string): XmlElement {
  const doc = parser.parse(xml) as XmlElement;
  const el = children(doc, root)[0];
  if (!el) throw new Error(`not a <${root}> document`);
  return el;
}

export function children(el: XmlElement | undefined, name: string): XmlElement[] {
  const list = el?.[name];
  return Array.isArray(list) ? (list as unknown[]).filter((c): c is XmlElement => typeof c === 'object' && c !== null) : [];
}

export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return children(el, name)[0];
}

/** Child element names (not attributes or text), in document order of first appearance. */
export function childNames(el: XmlElement | undefined): string[] {
  return el ? Object.keys(el).filter((k) => k !== '$' && k !== '#text') : [];
}

export function attrs(el: XmlElement | undefined): Record<string, string> {
  const a = el?.$;
  const group = Array.isArray(a) ? (a as unknown[])[0] : a;
  return (typeof group === 'object' && group !== null ? group : {}) as Record<string, string>;
}

export function attr(el: XmlElement | undefined, name: string): string | undefined {
  return attrs(el)[name];
}

export function text(el: XmlElement | undefined): string | undefined {
  const t = el?.['#text'];
  return typeof t === 'string' ? t : undefined;
}
