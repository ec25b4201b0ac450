/**
 * The notifiers: what a notification looks like on the wire for each kind of receiver integration, and
 * how it is sent. Each send either resolves (the receiver answered 2xx) or throws; the outbox retries.
 *
 * - webhook: Alertmanager's webhook JSON (version "4"), signed: `X-Plimsoll-Signature: sha256=<hex>`,
 *   the HMAC-SHA256 of the exact body bytes with the shared secret; `X-Plimsoll-Notification-Id` is the
 *   outbox id, the same on every retry, so a receiver can drop a copy it already has.
 * - slack: an incoming-webhook message (`text` plus `blocks`).
 * - alertmanager: Alertmanager's v2 API, POST /api/v2/alerts, the alerts one by one (labels,
 *   annotations, startsAt, endsAt, generatorURL); Alertmanager then groups, silences and routes them.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Notification, NotificationAlert } from './aggregator.js'
import type { AlertmanagerConfig, Integration, SlackConfig, WebhookConfig } from './config.js'

export const SIGNATURE_HEADER = 'x-plimsoll-signature'
export const NOTIFICATION_ID_HEADER = 'x-plimsoll-notification-id'

export interface HttpRequest {
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
}

/** `sha256=<hex>`: the signature header's value for a body. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`
}

/** Checks a signature header against the body, in constant time. */
export function verifySignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false
  const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`)
  const got = Buffer.from(header)
  return want.length === got.length && timingSafeEqual(want, got)
}

/** The alerts this integration is sent: resolved ones only when it has send_resolved. */
export function alertsFor(integration: Integration, n: Notification): NotificationAlert[] {
  return integration.sendResolved ? [...n.alerts] : n.alerts.filter((a) => a.status === 'firing')
}

/** The HTTP request for a notification, or undefined when this integration has nothing to send. */
export function render(integration: Integration, n: Notification, id: number): HttpRequest | undefined {
  const alerts = alertsFor(integration, n)
  if (alerts.length === 0) return undefined
  switch (integration.type) {
    case 'webhook':
      return renderWebhook(integration, n, alerts, id)
    case 'slack':
      return renderSlack(integration, n, alerts)
    case 'alertmanager':
      return renderAlertmanager(integration, alerts)
  }
}

function renderWebhook(
  c: WebhookConfig,
  n: Notification,
  alerts: NotificationAlert[],
  id: number,
): HttpRequest {
  const sent = c.maxAlerts > 0 ? alerts.slice(0, c.maxAlerts) : alerts
  const body = JSON.stringify({
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: alerts.length - sent.length,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalURL: n.externalURL,
    alerts: sent,
  })
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [NOTIFICATION_ID_HEADER]: String(id),
  }
  if (c.secret) headers[SIGNATURE_HEADER] = signBody(c.secret, body)
  return { url: c.url, headers, body }
}

/** Slack's mrkdwn needs &, < and > escaped. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Most alerts listed in a Slack message (Slack allows 50 blocks). */
const SLACK_MAX_ALERTS = 20

function renderSlack(c: SlackConfig, n: Notification, alerts: NotificationAlert[]): HttpRequest {
  const firing = alerts.filter((a) => a.status === 'firing').length
  const resolved = alerts.length - firing
  const groups = Object.entries(n.groupLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
  const title = `[${n.status.toUpperCase()}${firing > 0 ? `:${firing}` : ''}] ${groups || n.receiver}`
  const line = (a: NotificationAlert) => {
    const who = [a.labels.user && `user ${a.labels.user}`, a.labels.namespace && `ns ${a.labels.namespace}`]
      .filter(Boolean)
      .join(', ')
    const link = a.generatorURL ? ` <${a.generatorURL}|open>` : ''
    return `${a.status === 'firing' ? ':red_circle:' : ':white_check_mark:'} *${esc(a.labels.alertname ?? '')}* (${esc(a.labels.priority ?? '')})${who ? ` ${esc(who)}` : ''}: ${esc(a.annotations.summary ?? '')}${link}`
  }
  const shown = alerts.slice(0, SLACK_MAX_ALERTS)
  const more = alerts.length - shown.length
  const text = [title, ...shown.map(line), ...(more > 0 ? [`…and ${more} more`] : [])].join('\n')
  const blocks = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `${firing} firing, ${resolved} resolved · ${esc(n.receiver)}` }],
    },
    ...shown.map((a) => ({ type: 'section', text: { type: 'mrkdwn', text: line(a).slice(0, 3000) } })),
    ...(more > 0 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${more} more` }] }] : []),
  ]
  const body: Record<string, unknown> = { text, blocks }
  if (c.channel) body.channel = c.channel
  if (c.username) body.username = c.username
  return { url: c.apiUrl, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

function renderAlertmanager(c: AlertmanagerConfig, alerts: NotificationAlert[]): HttpRequest {
  const body = JSON.stringify(
    alerts.map((a) => ({
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      ...(a.generatorURL ? { generatorURL: a.generatorURL } : {}),
    })),
  )
  return { url: `${c.url}/api/v2/alerts`, headers: { 'content-type': 'application/json' }, body }
}

export type Send = (req: HttpRequest) => Promise<void>

/** POSTs with fetch; anything but 2xx (or no answer in `timeoutMs`) is an error. */
export function httpSender(timeoutMs = 10_000): Send {
  return async (req) => {
    const res = await fetch(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (res.status < 200 || res.status >= 300) {
      const text = await res.text().catch(() => '')
      throw new Error(`${req.url} answered ${res.status}${text ? `: ${text.slice(0, 300)}` : ''}`)
    }
    await res.arrayBuffer().catch(() => undefined)
  }
}
