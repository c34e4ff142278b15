import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListingDomain } from '../../src/listing/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { makeTree } from './fixture.js';

interface SearchBody {
  success: boolean;
  query: string;
  path: string;
  files: string[];
  total_files: number;
  capped: boolean;
  error?: string;
  code?: string;
}

let t: TestAgent;
let dir: string;
const search = (query: string) => t.json<SearchBody>('GET', `/files/search/files?path=${encodeURIComponent(dir)}&${query}`);

beforeAll(async () => {
  t = await startTestAgent({ domains: [createListingDomain({ searchCap: 3 })] });
  dir = path.join(t.workdir, 'app');
  await makeTree(dir, {
    '.gitignore': 'dist/\n',
    auth: { 'controller.go': '', 'Controller_test.go': '' },
    user: { 'controller.go': '', 'model.go': '' },
    controllers: { 'index.ts': '' },
    '.hidden': { 'controller.go': '' },
    dist: { 'controller.js': '' },
    'readme.md': '',
  });
});
afterAll(async () => t.close());

describe('GET /files/search/files', () => {
  it('matches the query against relative paths, case-insensitively, sorted; files only', async () => {
    const { status, body } = await search('q=controller');
    expect(status).toBe(200);
    expect(body).toEqual({
      success: true,
      query: 'controller',
      path: dir,
      files: ['auth/Controller_test.go', 'auth/controller.go', 'controllers/index.ts'],
      total_files: 3,
      capped: true,
    });
  });

  it('max_results cuts the list and says capped; larger values are lowered to the server cap', async () => {
    const one = await search('q=controller&max_results=1');
    expect(one.body.files).toEqual(['auth/Controller_test.go']);
    expect(one.body).toMatchObject({ total_files: 1, capped: true });
    const many = await search('q=.go&max_results=100000');
    expect(many.body.files).toHaveLength(3);
  });

  it('case_sensitive, include_hidden, ignore_patterns', async () => {
    const sensitive = await search('q=Controller&case_sensitive=true');
    expect(sensitive.body.files).toEqual(['auth/Controller_test.go']);
    const hidden = await search('q=.hidden&include_hidden=true');
    expect(hidden.body.files).toEqual(['.hidden/controller.go']);
    const ignored = await search('q=controller&ignore_patterns=auth,controllers');
    expect(ignored.body).toMatchObject({ files: ['user/controller.go'], capped: false, total_files: 1 });
  });

  it('respects .gitignore unless told not to', async () => {
    expect((await search('q=controller.js')).body.files).toEqual([]);
    expect((await search('q=controller.js&no_gitignore=true')).body.files).toEqual(['dist/controller.js']);
  });

  it('400 for a missing, empty or over-long q; 400 for a file; 404 for a missing path', async () => {
    const missing = await t.json<SearchBody>('GET', `/files/search/files?path=${dir}`);
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ success: false, code: 'bad_request' });
    expect(missing.body.error).toContain("'q'");
    expect((await search('q=')).status).toBe(400);
    const long = await search(`q=${'x'.repeat(1001)}`);
    expect(long.status).toBe(400);
    expect(long.body.error).toContain('q');
    expect((await search(`q=${'x'.repeat(1000)}`)).status).toBe(200);
    const file = await t.json<SearchBody>('GET', `/files/search/files?q=x&path=${dir}/readme.md`);
    expect(file.status).toBe(400);
    const gone = await t.json<SearchBody>('GET', `/files/search/files?q=x&path=${dir}/nope`);
    expect(gone.status).toBe(404);
  });
});
