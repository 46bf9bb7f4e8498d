#!/usr/bin/env node
console.log("PBOX-TAMPERED");
