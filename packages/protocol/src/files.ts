// Wire schemas of the files domain.
export {};
