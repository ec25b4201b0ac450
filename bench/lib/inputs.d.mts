export const WORKLOAD_FILES: string[]
export const WORKLOAD_RESOURCES_PER_COPY: number
export function renamed(text: string, copy: number): string
export function writeCopies(corpusDir: string, outDir: string, copies: number, files?: string[]): string[]
