/**
 * The part of JSON Schema (2020-12, as OpenAPI 3.1 uses it) that our
 * OpenAPI document uses: type (one or several), required, properties,
 * additionalProperties (boolean or schema), items, enum, const, minimum,
 * maximum, maxLength, $ref into `#/components/schemas`. Returns the
 * problems found, empty when the value conforms.
 */
export function checkSchema (value: unknown, schema: any, root: any, path = '$'): string[] {
  if (schema == null || schema === true) return []
  if (schema.$ref != null) {
    const name = String(schema.$ref).replace('#/components/schemas/', '')
    const target = root.components?.schemas?.[name]
    if (target == null) return [`${path}: unresolved ${schema.$ref}`]
    return checkSchema(value, target, root, path)
  }
  const problems: string[] = []
  if (schema.type != null) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type]
    if (!types.some(t => typeOk(value, t))) return [`${path}: expected ${types.join('|')}, got ${JSON.stringify(value)?.slice(0, 80)}`]
  }
  if (schema.const !== undefined && value !== schema.const) problems.push(`${path}: expected ${JSON.stringify(schema.const)}`)
  if (schema.enum != null && !schema.enum.includes(value)) problems.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`)
  if (typeof value === 'number') {
    if (schema.minimum != null && value < schema.minimum) problems.push(`${path}: ${value} < ${schema.minimum}`)
    if (schema.maximum != null && value > schema.maximum) problems.push(`${path}: ${value} > ${schema.maximum}`)
  }
  if (typeof value === 'string' && schema.maxLength != null && value.length > schema.maxLength) problems.push(`${path}: longer than ${schema.maxLength}`)
  if (Array.isArray(value) && schema.items != null) value.forEach((v, i) => problems.push(...checkSchema(v, schema.items, root, `${path}[${i}]`)))
  if (value != null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>
    for (const key of schema.required ?? []) if (!(key in record)) problems.push(`${path}: missing "${key}"`)
    for (const [key, v] of Object.entries(record)) {
      const property = schema.properties?.[key]
      if (property != null) problems.push(...checkSchema(v, property, root, `${path}.${key}`))
      else if (schema.additionalProperties === false) problems.push(`${path}: unexpected "${key}"`)
      else if (typeof schema.additionalProperties === 'object') problems.push(...checkSchema(v, schema.additionalProperties, root, `${path}.${key}`))
    }
  }
  return problems
}

function typeOk (value: unknown, type: string): boolean {
  switch (type) {
    case 'null': return value === null
    case 'integer': return Number.isInteger(value)
    case 'number': return typeof value === 'number' && Number.isFinite(value)
    case 'array': return Array.isArray(value)
    case 'object': return value != null && typeof value === 'object' && !Array.isArray(value)
    default: return typeof value === type
  }
}
