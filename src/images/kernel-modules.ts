// Which kernel modules go into the guest's initramfs, and in which order to insmod them.
// Debian's kernel package ships no modules.dep (depmod runs at install time), so dependencies
// come from each module's own .modinfo section ("depends=a,b"), which is what depmod reads.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Module names compare with '-' and '_' alike, as the kernel does. */
export const moduleKey = (name: string) => name.replace(/-/g, '_');

/** The `depends=` list of a module file (.ko, uncompressed), from its .modinfo strings. */
export function moduleDepends(ko: Uint8Array): string[] {
  const buf = Buffer.from(ko.buffer, ko.byteOffset, ko.byteLength);
  const tag = Buffer.from('\0depends=');
  const at = buf.indexOf(tag);
  if (at < 0) return [];
  const start = at + tag.length;
  const end = buf.indexOf(0, start);
  return buf.subarray(start, end < 0 ? buf.length : end).toString('latin1').split(',').filter(Boolean);
}

export type ModuleSource = {
  /** Path of the module file relative to the modules directory, e.g. kernel/fs/isofs/isofs.ko. */
  path(name: string): string | undefined;
  depends(name: string): string[];
  builtin(name: string): boolean;
};

export type ModuleLoad = { name: string; path: string; params: string[] };

/**
 * The load order for the wanted modules: each module after its dependencies, otherwise in the
 * order wanted. Built-in modules are left out; an unknown module is an error. Parameters
 * given for a module apply wherever it ends up in the order (it may be pulled in early as a
 * dependency of another).
 */
export function moduleLoadOrder(wanted: readonly { name: string; args: string[] }[], source: ModuleSource): ModuleLoad[] {
  const params = new Map(wanted.map((w) => [moduleKey(w.name), w.args]));
  const order: ModuleLoad[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    const key = moduleKey(name);
    if (done.has(key)) return;
    if (visiting.has(key)) throw new Error(`kernel modules: dependency cycle ${[...chain, name].join(' -> ')}`);
    const path = source.path(key);
    if (path === undefined) {
      if (source.builtin(key)) {
        done.add(key);
        return;
      }
      throw new Error(`kernel modules: no module ${name}${chain.length ? ` (needed by ${chain.join(' -> ')})` : ''}`);
    }
    visiting.add(key);
    for (const dep of source.depends(key)) visit(dep, [...chain, name]);
    visiting.delete(key);
    done.add(key);
    order.push({ name: key, path, params: params.get(key) ?? [] });
  };
  for (const w of wanted) visit(w.name, []);
  return order;
}

/** A ModuleSource over an unpacked /lib/modules/<version> directory. */
export function moduleDirSource(modulesDir: string): ModuleSource {
  const byName = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.ko')) byName.set(moduleKey(e.name.slice(0, -3)), relative(modulesDir, full));
    }
  };
  walk(join(modulesDir, 'kernel'));
  const builtin = new Set(readFileSync(join(modulesDir, 'modules.builtin'), 'utf8').split('\n')
    .filter(Boolean).map((p) => moduleKey(p.replace(/^.*\//, '').replace(/\.ko$/, ''))));
  return {
    path: (name) => byName.get(name),
    depends: (name) => moduleDepends(readFileSync(join(modulesDir, byName.get(name)!))),
    builtin: (name) => builtin.has(name),
  };
}
