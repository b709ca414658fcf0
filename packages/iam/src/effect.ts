/**
 * What a statement does when it matches a request. A matching `Deny` always wins over any
 * number of matching `Allow`s; with no matching statement the request is denied implicitly.
 */
export const Effect = { Allow: 'Allow', Deny: 'Deny' } as const

/** `'Allow'` or `'Deny'`. */
export type Effect = (typeof Effect)[keyof typeof Effect]
