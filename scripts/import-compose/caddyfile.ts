/**
 * The parts of a Caddyfile a platform route can hold: site addresses (hosts), `reverse_proxy`
 * upstreams inside `handle` (path kept) and `handle_path` (prefix stripped) blocks or at the top of
 * a site, `basicauth`/`basic_auth`, `header` and the global `email`. Everything else is listed, by
 * directive and line, so the import report names it. Caddyfile syntax: tokens separated by
 * whitespace, `"..."` and backtick quotes, `#` comments, `{ ... }` blocks, `{$VAR}` / `{$VAR:default}`
 * environment placeholders (kept as `${VAR}` for the caller's interpolation).
 */
export interface CaddyRoute {
  /** Path prefix without the trailing `/*` or `*` (`/` for a catch-all). */
  readonly prefix: string;
  /** handle_path: the prefix is removed before the upstream sees the request. */
  readonly strip: boolean;
  /** `service:port` as written after reverse_proxy (the first upstream). */
  readonly upstream: string;
  readonly line: number;
}

export interface CaddySite {
  /** The site addresses with `{$VAR}` written as `${VAR}`, scheme and port removed. */
  readonly hosts: string[];
  readonly routes: CaddyRoute[];
  /** basicauth: the matcher it covers and its users (name and the hash as written, a placeholder or a literal). */
  readonly basicAuth?: { matcher: string; users: { name: string; hash: string }[]; line: number };
  /** Response headers set for the whole site (`header` without a matcher), name → value. */
  readonly headers: Map<string, string>;
  /** Directives the platform does something about by itself or that are not mapped, with their line. */
  readonly other: { directive: string; line: number; text: string }[];
}

export interface Caddyfile {
  readonly sites: CaddySite[];
  /** The global `email` option (the ACME account). */
  readonly email?: string;
  /** Global options other than email. */
  readonly globalOther: { directive: string; line: number; text: string }[];
}

interface Token {
  readonly text: string;
  readonly line: number;
  /** The token was quoted (never a brace). */
  readonly quoted: boolean;
}

/** A directive: its words on one line, and its block, if it opens one. */
interface Directive {
  readonly words: Token[];
  readonly block?: Directive[];
}

function tokenize(text: string): Token[][] {
  const lines: Token[][] = [];
  let current: Token[] = [];
  let line = 1;
  let i = 0;
  const push = (token: Token) => current.push(token);
  const endLine = () => {
    if (current.length > 0) lines.push(current);
    current = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      endLine();
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      let value = '';
      const start = line;
      while (j < text.length && text[j] !== c) {
        if (c === '"' && text[j] === '\\' && j + 1 < text.length) value += text[++j];
        else {
          if (text[j] === '\n') line++;
          value += text[j];
        }
        j++;
      }
      push({ text: placeholders(value), line: start, quoted: true });
      i = j + 1;
    } else {
      let j = i;
      let depth = 0;
      // A token runs to whitespace; braces inside a token ({$VAR}, {http.request.host}) belong to it.
      while (j < text.length && !/\s/.test(text[j])) {
        if (text[j] === '{' && j + 1 < text.length && !/\s/.test(text[j + 1])) depth++;
        else if (text[j] === '}' && depth > 0) depth--;
        j++;
      }
      push({ text: placeholders(text.slice(i, j)), line, quoted: false });
      i = j;
    }
  }
  endLine();
  return lines;
}

/** `{$VAR}` → `${VAR}`, `{$VAR:default}` → `${VAR:-default}` (Compose interpolation form). */
function placeholders(token: string): string {
  return token.replace(/\{\$([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g, (_m, name: string, def?: string) => (def === undefined ? `\${${name}}` : `\${${name}:-${def}}`));
}

function parseBlocks(lines: Token[][]): Directive[] {
  let index = 0;
  const parse = (): Directive[] => {
    const out: Directive[] = [];
    while (index < lines.length) {
      const words = [...lines[index++]];
      if (words.length === 1 && words[0].text === '}' && !words[0].quoted) return out;
      const last = words[words.length - 1];
      if (!last.quoted && last.text === '{') {
        words.pop();
        out.push({ words, block: parse() });
      } else if (!last.quoted && last.text === '}') {
        // `header { ... }` on one line is rare; a closing brace after words ends the block too.
        words.pop();
        if (words.length > 0) out.push({ words });
        return out;
      } else {
        out.push({ words });
      }
    }
    return out;
  };
  return parse();
}

export function parseCaddyfile(text: string): Caddyfile {
  const top = parseBlocks(tokenize(text));
  const sites: CaddySite[] = [];
  let email: string | undefined;
  const globalOther: Caddyfile['globalOther'] = [];
  top.forEach((d, i) => {
    if (d.words.length === 0 && d.block && i === 0) {
      // The global options block.
      for (const option of d.block) {
        if (option.words[0]?.text === 'email' && option.words[1]) email = option.words[1].text;
        else globalOther.push(describe(option));
      }
      return;
    }
    if (d.words.length > 0 && d.words[0].text.startsWith('(')) {
      globalOther.push({ directive: `snippet ${d.words[0].text}`, line: d.words[0].line, text: 'a snippet; its directives are not imported where it is used' });
      return;
    }
    if (!d.block) {
      globalOther.push(describe(d));
      return;
    }
    sites.push(parseSite(d));
  });
  return { sites, email, globalOther };
}

function describe(d: Directive): { directive: string; line: number; text: string } {
  return { directive: d.words[0]?.text ?? '{', line: d.words[0]?.line ?? 0, text: d.words.map((w) => w.text).join(' ') };
}

function siteHost(address: string): string {
  return address.replace(/^https?:\/\//, '').replace(/:\d+$/, '').replace(/\/.*$/, '');
}

function parseSite(d: Directive): CaddySite {
  const hosts = d.words.flatMap((w) => w.text.split(',')).map((h) => h.trim()).filter(Boolean).map(siteHost);
  const routes: CaddyRoute[] = [];
  const headers = new Map<string, string>();
  const other: CaddySite['other'] = [];
  let basicAuth: CaddySite['basicAuth'];

  const upstreamOf = (block: Directive[] | undefined): { upstream?: string; rest: Directive[] } => {
    let upstream: string | undefined;
    const rest: Directive[] = [];
    for (const inner of block ?? []) {
      if (inner.words[0]?.text === 'reverse_proxy' && upstream === undefined) upstream = inner.words[1]?.text;
      else rest.push(inner);
    }
    return { upstream, rest };
  };
  const prefixOf = (matcher: string | undefined): string | undefined => {
    if (matcher === undefined || matcher === '*' || matcher === '/*') return '/';
    if (!matcher.startsWith('/')) return undefined;
    return matcher.replace(/\/?\*$/, '') || '/';
  };

  for (const directive of d.block ?? []) {
    const [name, ...args] = directive.words;
    const line = name?.line ?? 0;
    switch (name?.text) {
      case 'handle':
      case 'handle_path':
      case 'route': {
        const prefix = prefixOf(args[0]?.text);
        const { upstream, rest } = upstreamOf(directive.block);
        if (upstream && prefix !== undefined) routes.push({ prefix, strip: name.text === 'handle_path' && prefix !== '/', upstream: upstream.replace(/^https?:\/\//, ''), line });
        else other.push({ ...describe(directive), text: `${describe(directive).text} (no reverse_proxy to a service, or a matcher that is not a path)` });
        for (const inner of rest) other.push({ ...describe(inner), text: `inside ${name.text} ${args[0]?.text ?? ''}: ${describe(inner).text}` });
        break;
      }
      case 'reverse_proxy': {
        const matcher = args.length > 1 ? args[0].text : undefined;
        const target = args.length > 1 ? args[1]?.text : args[0]?.text;
        const prefix = prefixOf(matcher);
        if (target && prefix !== undefined) routes.push({ prefix, strip: false, upstream: target.replace(/^https?:\/\//, ''), line });
        else other.push(describe(directive));
        break;
      }
      case 'basicauth':
      case 'basic_auth': {
        const matcher = args[0]?.text ?? '*';
        const users = (directive.block ?? []).map((u) => ({ name: u.words[0]?.text ?? '', hash: u.words[1]?.text ?? '' }));
        basicAuth = { matcher, users, line };
        break;
      }
      case 'header': {
        const matcherless = args.length === 0 || !(args[0].text.startsWith('/') || args[0].text.startsWith('@') || args[0].text === '*');
        const rest = matcherless ? args : args.slice(1);
        if (!matcherless && args[0].text !== '*' && args[0].text !== '/*') {
          other.push({ ...describe(directive), text: `${describe(directive).text} (headers for some paths only)` });
          break;
        }
        if (rest.length >= 2) headers.set(rest[0].text, rest.slice(1).map((t) => t.text).join(' '));
        else if (rest.length === 1) headers.set(rest[0].text, '');
        for (const h of directive.block ?? []) {
          if (h.words.length >= 1) headers.set(h.words[0].text, h.words.slice(1).map((t) => t.text).join(' '));
        }
        break;
      }
      default:
        other.push(describe(directive));
    }
  }
  return { hosts, routes, basicAuth, headers, other };
}
