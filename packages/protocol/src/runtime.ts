import { Type } from '@sinclair/typebox';

/** `GET /runtime`: what the workspace runs on. */
export const RuntimeInfoResponse = Type.Object(
  {
    success: Type.Literal(true),
    os: Type.String(),
    arch: Type.String(),
    cpus: Type.Integer(),
    home: Type.String(),
    shell: Type.String(),
    hostname: Type.String(),
    workdir: Type.String(),
    agent_version: Type.String(),
    protocol_version: Type.String(),
    capabilities: Type.Array(Type.String()),
  },
  { additionalProperties: true },
);

/** `GET /runtimes`: the targets this agent serves; only `default`. */
export const RuntimeTargetsResponse = Type.Object({
  success: Type.Literal(true),
  version: Type.String(),
  default_target: Type.Literal('default'),
  capabilities: Type.Array(Type.String()),
  targets: Type.Array(
    Type.Object({
      id: Type.String(),
      local: Type.Boolean(),
      available: Type.Boolean(),
      version: Type.String(),
      capabilities: Type.Array(Type.String()),
    }),
  ),
});

export const PROTOCOL_VERSION = '1';
