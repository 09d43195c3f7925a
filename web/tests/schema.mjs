// A small JSON Schema validator for the page tests: type, const, enum, required, properties,
// additionalProperties, items, minimum, anyOf, allOf and local $ref; what
// docs/profile.schema.json uses (the native tests check the same schema in tests/profile.rs).

export function validate(schema, value, root = schema, path = '$', errors = []) {
  if (typeof schema !== 'object' || schema === null) return errors;
  if (schema.$ref) {
    const target = schema.$ref.replace(/^#\//, '').split('/').reduce((v, key) => v?.[key], root);
    if (!target) throw new Error(`unresolved $ref ${schema.$ref}`);
    validate(target, value, root, path, errors);
  }
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const is = {
      object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
      array: Array.isArray,
      string: (v) => typeof v === 'string',
      boolean: (v) => typeof v === 'boolean',
      null: (v) => v === null,
      number: (v) => typeof v === 'number',
      integer: Number.isInteger,
    };
    if (!types.some((t) => is[t]?.(value))) {
      errors.push(`${path}: expected ${types.join('|')}, got ${JSON.stringify(value)?.slice(0, 80)}`);
      return errors;
    }
  }
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) errors.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof schema.minimum === 'number' && typeof value === 'number' && value < schema.minimum) errors.push(`${path}: ${value} < minimum ${schema.minimum}`);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const key of schema.required ?? []) if (!(key in value)) errors.push(`${path}: missing required ${key}`);
    for (const [key, v] of Object.entries(value)) {
      const sub = schema.properties?.[key];
      if (sub) validate(sub, v, root, `${path}.${key}`, errors);
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected ${key}`);
      else if (typeof schema.additionalProperties === 'object') validate(schema.additionalProperties, v, root, `${path}.${key}`, errors);
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => validate(schema.items, v, root, `${path}[${i}]`, errors));
  if (schema.anyOf && !schema.anyOf.some((s) => validate(s, value, root, path, []).length === 0)) errors.push(`${path}: matches none of anyOf`);
  for (const s of schema.allOf ?? []) validate(s, value, root, path, errors);
  return errors;
}
