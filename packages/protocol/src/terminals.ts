// Wire schemas of the terminals domain.
export {};
