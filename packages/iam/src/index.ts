export { Action, ACTIONS, isAction, type ConcreteAction } from './action.js'
export { Effect } from './effect.js'
export {
  ConditionOperator,
  type ConditionKey,
  type Conditions,
  type DateConditionBlock,
  type NumericConditionBlock,
  type OneOrMore,
  type StringConditionBlock,
} from './condition.js'
export { resolveContext, type RequestContext, type ResolvedContext } from './request-context.js'
export { RESOURCE_GLOB_OPTIONS, MAX_STARS_PER_SEGMENT, checkResourcePattern } from './resource-pattern.js'
export type { Statement } from './statement.js'
export type { Decision, DecisionEffect } from './decision.js'
export { Policy, POLICY_VERSION, DECISION_CACHE_SIZE, type EvaluationRequest, type PolicyJSON, type PolicyOptions } from './policy.js'
