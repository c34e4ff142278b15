// Wire schemas of the watchers domain.
export {};
