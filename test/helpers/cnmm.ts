/**
 * The CNCF Cloud Native Maturity Model pages of the corpus (cnmm/), for checking that every criterion
 * of maturity/criteria quotes its page exactly.
 */
import { readFileSync } from 'node:fs'
import type { Criterion } from '../../src/maturity/catalogue.js'
import { corpusPath } from './corpus.js'

/**
 * A page's markdown as prose: emphasis markers (`**`, `__`) and backslash escapes (`\-`, `\.`) removed,
 * links read as their text, whitespace collapsed. Apostrophes and quotation marks are kept as the page has them.
 */
export function flattenMarkdown(markdown: string): string {
  return (
    markdown
      .replaceAll('**', '')
      .replaceAll('__', '')
      .replace(/\\([\\`*_{}[\]()#+\-.!|>~])/g, '$1')
      // a link reads as its text: "[CVE](https://www.cve.org/)s" is quoted as "CVEs"
      .replace(/\[([^\]]*)\]\([^)\s]*\)/g, '$1')
      .replace(/\s+/g, ' ')
  )
}

const pages = new Map<string, string>()

/** A page of the model, flattened; fails clearly when the corpus is absent. */
export function cnmmPage(page: string): string {
  let text = pages.get(page)
  if (text === undefined) {
    text = flattenMarkdown(readFileSync(corpusPath('cnmm', page), 'utf8'))
    pages.set(page, text)
  }
  return text
}

/** `file:line: ...` when the criterion's quote is not on its page (after flattening), else undefined. */
export function quoteProblem(c: Criterion): string | undefined {
  const wanted = c.quote.text.replace(/\s+/g, ' ')
  if (cnmmPage(c.quote.page).includes(wanted)) return undefined
  return `${c.origin.file}:${c.quote.line}: criterion '${c.id}': quote.text: not found in ${c.quote.page}: "${wanted}"`
}
