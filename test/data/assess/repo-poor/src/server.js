import { createServer } from 'node:http'

createServer((_req, res) => {
  res.end('legacy shop\n')
}).listen(8080)
