import type * as Effect from "effect/Effect"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"

/**
 * Whether decoding and encoding with `ast` are synchronous and run no effect: it is made of types and filters only
 * (filters are synchronous), and of compositions of these (`Schema.compose`, whose step between its two sides is the
 * identity), with no other transformation, declaration or recursion, whose code may run effects.
 *
 * @internal
 */
export const isPlain = (ast: SchemaAST.AST): boolean => {
  switch (ast._tag) {
    case "Declaration":
    case "Suspend":
      return false
    case "Transformation":
      return ast.transformation._tag === "ComposeTransformation" && isPlain(ast.from) && isPlain(ast.to)
    case "Refinement":
      return isPlain(ast.from)
    case "TupleType":
      return ast.elements.every((element) => isPlain(element.type)) && ast.rest.every((rest) => isPlain(rest.type))
    case "TypeLiteral":
      return ast.propertySignatures.every((signature) => isPlain(signature.type)) &&
        ast.indexSignatures.every((signature) => isPlain(signature.parameter) && isPlain(signature.type))
    case "Union":
      return ast.types.every(isPlain)
    default:
      return true
  }
}

/**
 * `Schema.decodeUnknown(schema, options)`; for a plain schema (`isPlain`), `Schema.decodeUnknownEither`, whose
 * `Either` is the same effect: the same value or the same error, without the parse options copied on every call
 * (`ParseResult`'s effectful parser spreads them to allow effects: about 2.5 µs a call for a task's input).
 *
 * @internal
 */
export const decodeUnknown = <A, I, R>(
  schema: Schema.Schema<A, I, R>,
  options?: SchemaAST.ParseOptions
): (u: unknown) => Effect.Effect<A, ParseResult.ParseError, R> =>
  isPlain(schema.ast)
    ? Schema.decodeUnknownEither(schema as Schema.Schema<A, I, never>, options)
    : Schema.decodeUnknown(schema, options)
