import type { WorkspaceDriver } from '@cove/protocol';
import type { WorkspaceRecord } from '../store/records.js';
import { provisioningOf } from './provisioning.js';

/** The workspace as the wire shows it (COMPAT §2 envelope contents). */
export function presentWorkspace(ws: WorkspaceRecord, driver: WorkspaceDriver) {
  const running = ws.status === 'running';
  // Set while the workspace's image is pulled before its first boot (provisioning.ts), else null.
  const provisioning = provisioningOf(driver, ws.id);
  return {
    id: ws.id,
    name: ws.name,
    image: ws.image,
    status: ws.status,
    ready: running && provisioning === null,
    provisioning,
    info: { is_running: running, status: ws.status },
    config: { cpus: ws.cpus, memory_mb: ws.memoryMb, disk_size_mb: ws.diskMb },
    cpus: ws.cpus,
    memory_mb: ws.memoryMb,
    disk_size_mb: ws.diskMb,
    // Where the official SDK's WorkspaceData reads them.
    resources: { cpus: ws.cpus, memory_mb: ws.memoryMb, disk_size_mb: ws.diskMb },
    driver: driver.name,
    ip: ws.ip,
    internal_api_access: { enabled: ws.accessEnabled, running: driver.agentRunning(ws.id) },
    last_ping_at: ws.lastPingAt,
    created_at: ws.createdAt,
    updated_at: ws.updatedAt,
  };
}

/** The network settings as `GET /workspace/:id/network` shows them (COMPAT §4: top-level fields). */
export function presentNetwork(ws: WorkspaceRecord, driver: WorkspaceDriver, links: Array<{ workspaceId: string; ip: string | null }>) {
  return {
    success: true as const,
    workspace_id: ws.id,
    ip: ws.ip,
    gateway: driver.gatewayAddress(ws.id),
    public_access: ws.network.publicAccess,
    allow_internet: ws.network.allowInternet,
    private_links: links.map((l) => ({ workspace_id: l.workspaceId, ip: l.ip })),
    private_link_ids: ws.network.privateLinkIds,
    ingress_ports: ws.network.ingressPorts,
    egress: ws.network.egress,
    outbound_mode: 'managed' as const,
    outbound_proxy: null,
  };
}
