// The line format of the guest image's list files (images/tiny/packages.txt, modules.txt):
// one item per line, first word the name, further words its arguments, '#' to end of line a
// comment, blank lines ignored.

export type ListItem = { name: string; args: string[]; line: number };

export function parseListFile(text: string): ListItem[] {
  const items: ListItem[] = [];
  text.split('\n').forEach((raw, i) => {
    const words = (raw.split('#', 1)[0] ?? '').trim().split(/\s+/).filter(Boolean);
    const [name, ...args] = words;
    if (name) items.push({ name, args, line: i + 1 });
  });
  return items;
}
