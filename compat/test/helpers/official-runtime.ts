import { Runtime } from 'oblien/runtime';
import { startTestAgent, type TestAgent } from '../../../packages/agent/test/helpers/agent.js';

/** A real agent on port 0 and the official SDK's `Runtime` pointed straight at it (raw token, as workspace-to-workspace code does). */
export async function startOfficialRuntime(): Promise<{ t: TestAgent; rt: Runtime }> {
  const t = await startTestAgent();
  return { t, rt: new Runtime({ token: t.token, baseUrl: t.url }) };
}
