export { AddressPlan, netnsName, vethName } from './addresses.js';
export { type AgentFiles, defaultAgentFiles } from './agent-files.js';
export { type CgroupLimits, type CgroupMode, cgroupDirs, cgroupMode, isFrozen, readLimits } from './cgroups.js';
export { defaultEgressLookup, type EgressLookup } from './egress.js';
export { type FirewallEntry, renderRuleset } from './firewall.js';
export { ID_RANGE_SIZE, ID_RANGES_DIR, type IdRange, type IdRangeClaim, idRangeClaims } from './id-ranges.js';
export {
  type BuildCacheUsage,
  type BuildImageOptions,
  type BuildImageStore,
  buildCacheUsage,
  buildImage,
  pruneBuildCache,
} from './image-build/build-image.js';
export {
  BUILTIN_IMAGES,
  buildDebianImage,
  buildHostImage,
  type ImageInfo,
  ImageStore,
  type ImageStoreOptions,
  parseReference,
  StoreLayout,
} from './images/index.js';
export {
  type InstanceClaim,
  type InstanceNetwork,
  instanceClaims,
  instanceId,
  LEGACY_NETWORK,
  releaseNetwork,
} from './instance-network.js';
export { type ContainerState, OciRuntime } from './runc.js';
export {
  checkRuntime,
  type KnownRuntime,
  locateBinary,
  parseRuntime,
  RUNTIMES,
  type RuntimeCheck,
  type RuntimeProfile,
} from './runtimes.js';
export { SandboxDriver, type SandboxDriverOptions } from './sandbox-driver.js';
export { type SandboxSupport, sandboxSupport } from './support.js';
export { type Span, setTracing, span, takeSpans, traceEnabled } from './trace.js';
