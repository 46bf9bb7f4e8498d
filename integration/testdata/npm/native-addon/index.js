module.exports = require('./build/Release/pbox_addon.node');
