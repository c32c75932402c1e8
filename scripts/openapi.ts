// `npm run openapi`: writes the request schemas derived from src/stylize/schema.ts into openapi.yaml,
// keeping the rest of the hand-written document (and its comments) as it is.
import { readFileSync, writeFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import { requestSchemas } from './openapi-schemas.js'

const path = new URL('../openapi.yaml', import.meta.url)
const document = parseDocument(readFileSync(path, 'utf8'))
for (const [name, schema] of Object.entries(requestSchemas())) {
  document.setIn(['components', 'schemas', name], document.createNode(schema))
}
writeFileSync(path, document.toString({ lineWidth: 0 }))
process.stdout.write(`openapi.yaml: ${Object.keys(requestSchemas()).join(', ')} written from src/stylize/schema.ts\n`)
