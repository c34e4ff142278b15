// Applying the firewall table: replaced whole, or changed in place when the change only adds rules and sets (a
// workspace made, adopted from the pool, its network opened). Replacing the table deletes and registers its base
// chains' hooks again, and the kernel waits for an RCU grace period for that (most of the ~15 ms an `nft -f` of
// the table took on every create); a transaction that only inserts rules does not wait (~3 ms, mostly nft's own
// start). Deleting a rule waits like a replacement does, so a change that removes anything replaces the table.
import { serializeTable, type TableModel } from './firewall.js';
import { run } from './run-command.js';

/** The table as last applied, with the kernel's handle of each of its chains' rules (in order). */
export interface AppliedTable {
  model: TableModel;
  /** Per chain; undefined when not known (the next change replaces the table). */
  handles: Map<string, number[]> | undefined;
}

/** nft's echo of a rule it added: its chain and handle. */
const ECHOED_RULE = /^(?:add|insert) rule inet \S+ (\S+) .*# handle (\d+)\s*$/;

function echoedRules(stdout: string): Array<{ chain: string; handle: number }> {
  return stdout.split('\n').flatMap((line) => {
    const m = ECHOED_RULE.exec(line);
    return m ? [{ chain: m[1] as string, handle: Number(m[2]) }] : [];
  });
}

/** Where each rule of a chain comes from: a rule already applied (its index there), or the transaction (added). */
type Origin = number | 'added';

/**
 * The transaction turning `applied` into `next` by additions only, and where each rule of `next`'s chains comes
 * from, or undefined when `next` is not `applied` plus rules and sets (something removed or changed). An added
 * rule goes right before the applied rule that follows it in `next` (`insert … position`), else at its chain's
 * end: the chains come out exactly as `next` lists them. Rules are added in the order of `next`'s chains and rules.
 */
export function additions(applied: AppliedTable, next: TableModel): { script: string; origins: Map<string, Origin[]> } | undefined {
  const prev = applied.model;
  if (!applied.handles || prev.table !== next.table || prev.chains.length !== next.chains.length) return undefined;
  const nextSets = new Map(next.sets.map((s) => [s.name, s.text]));
  if (prev.sets.some((s) => nextSets.get(s.name) !== s.text)) return undefined;
  const prevSets = new Set(prev.sets.map((s) => s.name));
  const newSets = next.sets.filter((s) => !prevSets.has(s.name));
  const commands: string[] = [];
  if (newSets.length > 0) commands.push(`table inet ${next.table} {\n${newSets.map((s) => s.text).join('')}}`);
  const origins = new Map<string, Origin[]>();
  for (const [c, before] of prev.chains.entries()) {
    const after = next.chains[c];
    const handles = applied.handles.get(before.name);
    if (!after || after.name !== before.name || after.head !== before.head || handles?.length !== before.rules.length) return undefined;
    // Which applied rule each rule of `after` is (the earliest match: a subsequence test).
    const origin: Origin[] = [];
    let j = 0;
    for (const rule of after.rules) origin.push(j < before.rules.length && rule === before.rules[j] ? j++ : 'added');
    if (j !== before.rules.length) return undefined;
    for (const [i, rule] of after.rules.entries()) {
      if (origin[i] !== 'added') continue;
      const following = origin.slice(i + 1).find((o): o is number => o !== 'added');
      commands.push(
        following === undefined
          ? `add rule inet ${next.table} ${after.name} ${rule}`
          : `insert rule inet ${next.table} ${after.name} position ${handles[following]} ${rule}`,
      );
    }
    origins.set(after.name, origin);
  }
  return { script: commands.length > 0 ? `${commands.join('\n')}\n` : '', origins };
}

/** The handles of a whole table's rules from nft's echo of it, or undefined when they do not match its chains. */
function tableHandles(model: TableModel, stdout: string): Map<string, number[]> | undefined {
  const handles = new Map<string, number[]>(model.chains.map((c) => [c.name, []]));
  for (const { chain, handle } of echoedRules(stdout)) handles.get(chain)?.push(handle);
  return model.chains.every((c) => handles.get(c.name)?.length === c.rules.length) ? handles : undefined;
}

/**
 * Makes the kernel's table `next`: in place when that only adds to `applied` (and the table is still as applied:
 * an insert next to a rule that is gone fails, and the whole table is replaced), else replaced whole (atomic
 * either way: one `nft -f` transaction). Resolves to what is applied, for the next call.
 */
export async function applyTable(next: TableModel, applied: AppliedTable | undefined): Promise<AppliedTable> {
  const plan = applied && additions(applied, next);
  if (applied?.handles && plan) {
    if (plan.script === '') return { model: next, handles: applied.handles };
    const res = await run(['nft', '--echo', '--handle', '-f', '-'], { input: plan.script, allowFailure: true });
    if (res.code === 0) {
      const echoed = echoedRules(res.stdout).map((r) => r.handle);
      const count = [...plan.origins.values()].flat().filter((o) => o === 'added').length;
      const handles = new Map<string, number[]>();
      let k = 0;
      for (const [chain, origin] of plan.origins) {
        const before = applied.handles.get(chain) ?? [];
        handles.set(
          chain,
          origin.map((o) => (o === 'added' ? (echoed[k++] ?? Number.NaN) : (before[o] ?? Number.NaN))),
        );
      }
      const known = echoed.length === count && [...handles.values()].every((l) => l.every(Number.isInteger));
      return { model: next, handles: known ? handles : undefined };
    }
  }
  const res = await run(['nft', '--echo', '--handle', '-f', '-'], { input: serializeTable(next) });
  return { model: next, handles: tableHandles(next, res.stdout) };
}
