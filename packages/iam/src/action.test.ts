import { ErrorCodes } from '@cartridge/core'
import { describe, expect, it } from 'vitest'
import { ACTIONS, Action, expandActionPattern, isAction } from './action.js'

describe('actions', () => {
  it('lists every concrete action once, without *', () => {
    expect(ACTIONS).toHaveLength(16)
    expect(new Set(ACTIONS).size).toBe(16)
    expect(ACTIONS).not.toContain('*')
    expect(ACTIONS).toContain('snapshot:read')
  })

  it('isAction accepts concrete actions only', () => {
    expect(isAction('read')).toBe(true)
    expect(isAction('container:admin')).toBe(true)
    for (const v of ['*', 'snapshot:*', 'Read', 'READ', 'reed', '', ' read', 'read ', 42, undefined, null]) expect(isAction(v), String(v)).toBe(false)
  })

  it("expands '*', exact actions and 'prefix:*'", () => {
    expect(expandActionPattern('*')).toEqual(ACTIONS)
    expect(expandActionPattern(Action.Read)).toEqual(['read'])
    expect(expandActionPattern('snapshot:*')).toEqual(['snapshot:create', 'snapshot:restore', 'snapshot:delete', 'snapshot:read'])
    expect(expandActionPattern('sqlite:*')).toEqual(['sqlite:read', 'sqlite:write'])
    expect(expandActionPattern('policy:*')).toEqual(['policy:admin'])
  })

  it('refuses anything else with CARTRIDGE_INVALID_ARGUMENT', () => {
    for (const p of ['Read', 'reed', 'read:*', 'snap*', 'snapshot:', 'snapshot*', 'snapshot:c*', '*:read', ':*', '**', '', 'write ', 1, null, ['read']]) {
      expect(() => expandActionPattern(p), String(p)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }))
    }
  })
})
