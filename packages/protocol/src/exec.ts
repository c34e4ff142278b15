// Wire schemas of the exec domain.
export {};
