import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'packages/*/dist/**', 'coverage/**', '.tap/**', 'node_modules/**'] }),
  // `void promise` marks a fire-and-forget call on purpose
  { rules: { 'no-void': ['error', { allowAsStatement: true }] } }
]
