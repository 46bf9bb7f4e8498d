module.exports = 'marker';
