/**
 * `.dvc/config` (and `config.local`): configobj INI. Section names with a subsection are quoted
 * inside the brackets (`['remote "storage"']`); DVC 0.x files are not indented. Both are accepted.
 */
export interface DvcRemoteConfig {
  name: string;
  url: string;
  options: Record<string, string>;
}

export interface DvcConfig {
  defaultRemote: string | null;
  cacheDir: string | null;
  remotes: Map<string, DvcRemoteConfig>;
}

export function parseDvcConfig(...texts: string[]): DvcConfig {
  const sections = new Map<string, Record<string, string>>();
  for (const text of texts) {
    let current: Record<string, string> | null = null;
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      const header = /^\[\s*(?:'(.*)'|"(.*)"|(.*?))\s*\]$/.exec(line);
      if (header) {
        const name = (header[1] ?? header[2] ?? header[3] ?? '').trim();
        current = sections.get(name) ?? {};
        sections.set(name, current);
        continue;
      }
      const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
      if (kv && current) current[kv[1]!.trim()] = kv[2]!.trim().replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  const remotes = new Map<string, DvcRemoteConfig>();
  for (const [name, values] of sections) {
    const m = /^remote\s+"(.+)"$/.exec(name);
    if (m && values.url !== undefined) {
      const { url, ...options } = values;
      remotes.set(m[1]!, { name: m[1]!, url: url!, options });
    }
  }
  return {
    defaultRemote: sections.get('core')?.remote ?? null,
    cacheDir: sections.get('cache')?.dir ?? null,
    remotes,
  };
}
