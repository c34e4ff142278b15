// The archive records both drivers keep: listed in creation order, unlisted with or without their file, and
// what a writer cut short left behind dropped.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ArchiveInfo } from '@cove/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveRecords } from '../src/index.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'cove-archive-records-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function info(version: string, createdAt: string): ArchiveInfo {
  return {
    workspaceId: 'ws_a',
    version,
    format: 'tar.gz',
    vmPaths: [],
    excludeVmPaths: [],
    sizeBytes: 1,
    sha256: '0'.repeat(64),
    createdAt,
    image: 'host',
  };
}

describe('ArchiveRecords', () => {
  const records = new ArchiveRecords((id) => path.join(root, id));

  it('lists by creation; unlisting keeps the file and the name taken, deleting frees both', async () => {
    for (const [v, at] of [
      ['v2', '2026-01-02T00:00:00.000Z'],
      ['v1', '2026-01-01T00:00:00.000Z'],
    ] as const) {
      await records.save(info(v, at));
      writeFileSync(records.file('ws_a', v, 'tar.gz'), 'x');
    }
    expect((await records.list('ws_a')).map((a) => a.version)).toEqual(['v1', 'v2']);
    expect(await records.remove('ws_a', 'v1', false)).toMatchObject({ version: 'v1' });
    expect((await records.list('ws_a')).map((a) => a.version)).toEqual(['v2']);
    expect(records.taken('ws_a', 'v1')).toBe(true);
    expect(existsSync(records.file('ws_a', 'v1', 'tar.gz'))).toBe(true);
    await expect(records.get('ws_a', 'v1')).rejects.toMatchObject({ code: 'not_found' });
    await records.remove('ws_a', 'v2', true);
    expect(records.taken('ws_a', 'v2')).toBe(false);
    expect(existsSync(records.file('ws_a', 'v2', 'tar.gz'))).toBe(false);
    expect(await records.list('ws_b')).toEqual([]);
  });

  it('drops partial files, records being written and files never recorded; keeps the rest', async () => {
    const dir = path.join(root, 'ws_c');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'v3.tar.gz'), 'x');
    await records.save({ ...info('v3', '2026-01-03T00:00:00.000Z'), workspaceId: 'ws_c' });
    for (const name of ['v4.tar.gz.partial', 'v5.json.tmp', 'v6.tar.zst', 'v7.json']) writeFileSync(path.join(dir, name), '{');
    await records.dropPartialOf('ws_c');
    expect(readdirSync(dir).sort()).toEqual(['v3.json', 'v3.tar.gz']);
  });
});
