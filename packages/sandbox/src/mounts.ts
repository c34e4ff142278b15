import { readFile } from 'node:fs/promises';

/** The mount points currently mounted (from /proc/self/mountinfo, octal escapes decoded). */
export async function mountedPaths(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const paths = new Set<string>();
  for (const line of text.split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint) paths.add(mountPoint.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8))));
  }
  return paths;
}
