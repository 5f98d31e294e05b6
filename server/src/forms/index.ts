/**
 * Custom forms library (issue 5). Pure functions the form routes and the workflow engine share:
 *   compileSchema(doc) / checkFormSchema(doc)       schema checks, cached compiled formulas
 *   validateSubmission(doc, data, ctx, permissions)  → { ok, value, totals, errors }
 *   filterForOutput(doc, value, permissions)         strip hidden fields for a node (R16.1)
 */
export * from './schema.ts';
export { compileSchema, checkFormSchema, FormSchemaError, FORM_FUNCTIONS, CONTEXT_VARS, type CompiledForm, type CompiledSubtable, type CompiledRule } from './compile.ts';
export {
  validateSubmission,
  filterForOutput,
  phoneFields,
  type FieldPermission,
  type FieldPermissions,
  type FormContext,
  type FormUser,
  type FieldError,
  type ValidationResult,
} from './validate.ts';
export { InputError, toHalfWidth, parseDecimal, normalizeDate, normalizeDateTime, normalizeMoney, normalizeNumber, fenToYuan, sanitizeRichText } from './normalize.ts';
