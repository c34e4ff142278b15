// A workspace's traffic from the counters of the host side of its veth link. The host side receives what the
// workspace sends, so the host's rx is the workspace's tx and the other way round.
import path from 'node:path';
import type { WorkspaceStats } from '@cove/protocol';
import { readNumber } from './kernel-files.js';

export const SYS_CLASS_NET = '/sys/class/net';

/** The link's counters seen from inside the workspace (null where the link is gone). */
export function readLinkStats(hostSide: string, root = SYS_CLASS_NET): WorkspaceStats['network'] {
  const counter = (name: string) => readNumber(path.join(root, hostSide, 'statistics', name));
  return {
    rxBytes: counter('tx_bytes'),
    txBytes: counter('rx_bytes'),
    rxPackets: counter('tx_packets'),
    txPackets: counter('rx_packets'),
  };
}
