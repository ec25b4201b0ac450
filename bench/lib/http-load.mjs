// The load generator of bench/api.mjs, on a worker thread: the client's own work (requests, reading bodies)
// then runs on the other core instead of competing with the server's event loop it measures. It asks
// through node:http with a keep-alive agent, which costs this thread about 0.5 ms a request of the mix;
// fetch (BENCH_CLIENT=fetch, what the figures before it were taken with) costs 1 to 1.5 ms, which on a
// 2-core machine is CPU taken from the server it measures.
import { Agent, request } from 'node:http'
import { parentPort, workerData } from 'node:worker_threads'

const { base, token, requests, concurrency, client: kind } = workerData
const headers = { authorization: `Bearer ${token}` }
const times = new Float64Array(requests.length)
let nextIndex = 0
let failure

const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
const { hostname, port } = new URL(base)

/** The answer's status, once its body has been read (and dropped). */
function viaHttp(url) {
  // As fetch sends it: the path and query percent-encoded.
  const { pathname, search } = new URL(base + url)
  return new Promise((resolve, reject) => {
    const req = request({ agent, hostname, port, path: pathname + search, headers }, (res) => {
      res.on('data', () => {})
      res.on('end', () => resolve(res.statusCode))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function viaFetch(url) {
  const res = await fetch(base + url, { headers })
  await res.arrayBuffer()
  return res.status
}

const get = kind === 'fetch' ? viaFetch : viaHttp

async function client() {
  while (failure === undefined && nextIndex < requests.length) {
    const i = nextIndex++
    const t0 = performance.now()
    const status = await get(requests[i].url)
    times[i] = performance.now() - t0
    if (status !== 200) failure = `${requests[i].url}: ${status}`
  }
}

const t0 = performance.now()
const busyBefore = performance.eventLoopUtilization()
await Promise.all(Array.from({ length: concurrency }, client))
// How long this thread was busy: the client's share of the two cores, beside the server's.
const busy = performance.eventLoopUtilization(busyBefore).active
agent.destroy()
parentPort.postMessage({ times, elapsed: performance.now() - t0, busy, failure })
