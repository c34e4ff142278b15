// Wire schemas of the search domain.
export {};
