// The image store: builtin images, pulls from registries, imports of archives, layers shared on disk.
export { BUILTIN_CONFIG, BUILTIN_IMAGES, type BuiltinImage, buildDebianImage, buildHostImage, builtinImage } from './builtin.js';
export { type ImageInfo, ImageStore, type ImageStoreOptions } from './image-store.js';
export { type ImageReference, isLoopbackRegistry, parseImageId, parseReference } from './reference.js';
export { StoreLayout } from './store-layout.js';
export { type UnpackedLayer, unpackLayer } from './unpack-layer.js';
