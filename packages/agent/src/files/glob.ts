/**
 * A small glob matcher for exclude patterns: `*` and `?` stay within one
 * path segment, `**` crosses segments, `[abc]` is a class. A pattern without
 * a slash matches any single segment of the path (so "node_modules" excludes
 * every node_modules directory); a pattern with a slash matches the whole
 * relative path.
 */
export function compileGlob(pattern: string): (relativePath: string) => boolean {
  const anchored = pattern.replace(/^\/+|\/+$/g, '');
  const regex = new RegExp(`^${globToRegex(anchored)}$`);
  if (!anchored.includes('/')) {
    return (relativePath) => relativePath.split('/').some((segment) => regex.test(segment));
  }
  return (relativePath) => regex.test(relativePath);
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close === -1) out += '\\[';
      else {
        const body = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = close;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return out;
}
