#!/usr/bin/env node
console.log("pbox-hello ran");
