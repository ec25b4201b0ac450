// The build's last step for the server side: the built-in check files as JSON (src/policy/check-cache.ts).
import { writeCheckCache } from '../dist/policy/check-cache.js'
import { BUILTIN_POLICY_DIR, checkFiles } from '../dist/policy/library.js'

writeCheckCache(checkFiles(BUILTIN_POLICY_DIR))
