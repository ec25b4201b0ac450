export function findingLines(report: { findings: { location: { file: string } }[] }, root: string): string[]
export function digest(lines: string[]): string
