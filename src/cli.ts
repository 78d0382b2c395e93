#!/usr/bin/env node
// The bin entry (dist/cli.js, a public path): the command router lives in cli/main.ts.
import './cli/main.js';
