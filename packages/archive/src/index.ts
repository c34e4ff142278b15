export { type ArchiveRecord, ArchiveRecords } from './archive-records.js';
export { type Compression, compressionOf, type Decompressed, decompressed, readTarFile, walkTarFile } from './tar-file.js';
export { shown, type TarEntryType, TarError } from './tar-format.js';
export { type OnEntry, readTar, type TarEntry, type TarReadOptions } from './tar-reader.js';
export { MAX_SPARSE_SEGMENTS, type SparseSegment, writeEntryData } from './tar-sparse.js';
export { type TarWrite, writeTar } from './tar-write.js';
