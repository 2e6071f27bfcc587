#!/usr/bin/env node
// The `perun-agent` command: the compiled CLI (npm run build writes dist/).
import '../dist/src/agent/cli/main.js';
