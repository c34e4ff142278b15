// Image layers are read with @cove/archive's streaming tar reader: every byte hashed (a layer's diff id is the
// sha256 of its whole uncompressed tar), global pax records applied to every entry as GNU tar reads them.
import { type OnEntry, readTar as readTarStream } from '@cove/archive';

export { type TarEntry, type TarEntryType, TarError } from '@cove/archive';

/**
 * Reads the layer entry by entry: `onEntry` gets each entry and an iterator of its data, which it must consume
 * (or leave: it is skipped). Resolves to the stream's sha256 (`sha256:…`) once every byte was read.
 */
export function readTar(source: AsyncIterable<Buffer>, onEntry: OnEntry): Promise<string> {
  return readTarStream(source, onEntry, { what: 'layer' });
}
