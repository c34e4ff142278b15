'use strict';
// Loads the compiled binding (built by `node-gyp rebuild` on install).
const path = require('node:path');

module.exports = require(path.join(__dirname, 'build', 'Release', 'cove_inotify.node'));
