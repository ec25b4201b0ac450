/** The syntax tree of a Falco condition, as parser.ts builds it and compile.ts consumes it. */

export type Operator =
  | '='
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'contains'
  | 'icontains'
  | 'bcontains'
  | 'startswith'
  | 'bstartswith'
  | 'endswith'
  | 'glob'
  | 'iglob'
  | 'regex'
  | 'in'
  | 'intersects'
  | 'pmatch'

export interface FieldRef {
  readonly name: string
  readonly arg?: string
  /** offset in the condition text */
  readonly at: number
}

export type Expr =
  | { readonly kind: 'and'; readonly children: readonly Expr[] }
  | { readonly kind: 'or'; readonly children: readonly Expr[] }
  | { readonly kind: 'not'; readonly child: Expr }
  /** a macro reference (a bare identifier) */
  | { readonly kind: 'macro'; readonly name: string; readonly at: number }
  | { readonly kind: 'exists'; readonly field: FieldRef }
  /**
   * field OP value. `values` holds one value for the scalar operators; for in/intersects/pmatch the
   * list's items. `listName` is set when the right side was a bare identifier (a named list).
   */
  | {
      readonly kind: 'compare'
      readonly field: FieldRef
      readonly op: Operator
      readonly values: readonly string[]
      readonly listName?: string
    }
