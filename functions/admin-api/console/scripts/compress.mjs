// After `vite build`: a gzip copy of each text asset, which admin-api sends to browsers that
// accept gzip (the console is ~2 MB raw, ~0.6 MB gzipped; Lambda does not compress).
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync, constants } from 'node:zlib'

const dist = new URL('../dist/', import.meta.url).pathname
let files = 0
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path)
    else if (/\.(js|css|html|svg|json)$/.test(name) && statSync(path).size > 1024) {
      writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION }))
      files += 1
    }
  }
}
walk(dist)
console.log(`gzip copies of ${files} assets written`)
