import { Telemetry } from "@effect/ai"
import type { Tracer } from "effect"

/** The `gen_ai.*` attributes `Telemetry.addGenAIAnnotations` gives a span for these annotations, in turn. */
export const expected = (
  ...annotations: ReadonlyArray<Telemetry.GenAITelemetryAttributeOptions>
): ReadonlyMap<string, unknown> => {
  const attributes = new Map<string, unknown>()
  const recorder = { attribute: (key: string, value: unknown) => attributes.set(key, value) } as unknown as Tracer.Span
  for (const options of annotations) Telemetry.addGenAIAnnotations(recorder, options)
  return attributes
}

/** A span's `gen_ai.*` attributes. */
export const of = (attributes: ReadonlyMap<string, unknown>): ReadonlyMap<string, unknown> =>
  new Map([...attributes].filter(([key]) => key.startsWith("gen_ai.")))
