/** The directory of the built single-page app (index.html and its bundles). */
export declare const assetsDir: string;
