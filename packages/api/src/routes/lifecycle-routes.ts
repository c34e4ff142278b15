import {
  ErrorResponse,
  IdlePolicyBody,
  LifecycleResponse,
  MakePermanentBody,
  MakeTemporaryBody,
  UpdateTtlBody,
  WorkspaceIdParams,
} from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import type { Lifecycle } from '../service/lifecycle.js';
import { defaultLifecycle, makePermanent, makeTemporary, setIdle, updateTtl } from '../service/lifecycle-policy.js';

const tags = ['lifecycle'];
const params = WorkspaceIdParams;
const response = { 200: LifecycleResponse, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse };

/** The official SDK's `lifecycle` resource: mode, TTL, idle policy, restart policy (ping is with the workspaces). */
export function lifecycleRoutes(app: ApiApp, lifecycle: Lifecycle): void {
  app.get(
    '/workspace/:id/lifecycle',
    { schema: { tags, summary: 'Lifecycle: mode, TTL, idle and restart policy, history', params, response } },
    (r) => lifecycle.get(r.coveOwner, r.params.id),
  );

  // "Destroy lifecycle state": back to the defaults (permanent, no TTL, no idle policy, never restarted); the
  // workspace itself stays (DELETE /workspace/:id removes it).
  app.delete('/workspace/:id/lifecycle', { schema: { tags, summary: 'Reset the lifecycle to the defaults', params, response } }, (r) =>
    lifecycle.update(r.coveOwner, r.params.id, (lc) => {
      const fresh = defaultLifecycle(lc.workspaceId, lc.createdAt);
      Object.assign(lc, { ...fresh, events: lc.events, startedAt: lc.startedAt, lastActivityAt: lc.lastActivityAt });
    }),
  );

  app.post(
    '/workspace/:id/lifecycle/permanent',
    { schema: { tags, summary: 'Make permanent (no TTL); set the restart policy', params, body: MakePermanentBody, response } },
    (r) => lifecycle.update(r.coveOwner, r.params.id, (lc) => makePermanent(lc, r.body)),
  );

  app.post(
    '/workspace/:id/lifecycle/temporary',
    { schema: { tags, summary: 'Make temporary with a TTL (default 1 h)', params, body: MakeTemporaryBody, response } },
    (r) => lifecycle.update(r.coveOwner, r.params.id, (lc, now) => makeTemporary(lc, r.body, now)),
  );

  app.put(
    '/workspace/:id/lifecycle/ttl',
    { schema: { tags, summary: 'Change the TTL (counts from now) or its action', params, body: UpdateTtlBody, response } },
    (r) => lifecycle.update(r.coveOwner, r.params.id, (lc, now) => updateTtl(lc, r.body, now)),
  );

  app.put(
    '/workspace/:id/lifecycle/idle',
    {
      schema: {
        tags,
        summary: 'Idle policy: suspend after N s without activity, stop M s later (suspend_after 0 or null clears)',
        params,
        body: IdlePolicyBody,
        response,
      },
    },
    (r) => lifecycle.update(r.coveOwner, r.params.id, (lc, now) => setIdle(lc, r.body, now)),
  );
}
