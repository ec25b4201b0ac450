import { type ChildProcess, spawn } from 'node:child_process'
import { BIN } from './cli.js'

/** Starts `plimsoll serve --port 0 ...` and resolves with what it printed once it listens. */
export function serve(args: string[]): Promise<{ child: ChildProcess; out: string; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const m = /^plimsoll serve: (http\S+) over (.*)$/m.exec(out)
      if (m) resolve({ child, out, url: m[1]! })
    })
    child.stderr!.on('data', (d) => {
      out += d
    })
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)))
  })
}

/** Stops it (SIGTERM) and resolves with its exit code. */
export function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode)
    child.on('exit', (code) => resolve(code))
    child.kill('SIGTERM')
  })
}
