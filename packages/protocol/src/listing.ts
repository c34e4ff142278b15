// Wire schemas of the listing domain.
export {};
