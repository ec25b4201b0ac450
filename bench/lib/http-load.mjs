// The load generator of bench/api.mjs, on a worker thread: the client's own work (fetch, reading bodies)
// then runs on the other core instead of competing with the server's event loop it measures.
import { parentPort, workerData } from 'node:worker_threads'

const { base, token, requests, concurrency } = workerData
const headers = { authorization: `Bearer ${token}` }
const times = new Float64Array(requests.length)
let nextIndex = 0
let failure

async function client() {
  while (failure === undefined && nextIndex < requests.length) {
    const i = nextIndex++
    const t0 = performance.now()
    const res = await fetch(base + requests[i].url, { headers })
    await res.arrayBuffer()
    times[i] = performance.now() - t0
    if (res.status !== 200) failure = `${requests[i].url}: ${res.status}`
  }
}

const t0 = performance.now()
await Promise.all(Array.from({ length: concurrency }, client))
parentPort.postMessage({ times, elapsed: performance.now() - t0, failure })
