import * as Usage from "../../src/Usage.js"

/** A usage meter that keeps every record made on it, for tests that call agents outside the engine. */
export const make = () => {
  const records: Array<Usage.Record> = []
  const meter: Usage.Meter = {
    record: (usage) => {
      records.push(usage)
    },
    get current() {
      return records.reduce(
        (sum, r) =>
          Usage.add(
            sum,
            Usage.make({
              requests: r.requests ?? 1,
              inputTokens: r.inputTokens ?? 0,
              outputTokens: r.outputTokens ?? 0,
              cost: r.cost ?? 0
            })
          ),
        Usage.empty
      )
    },
    get models() {
      return [...new Set(records.flatMap((r) => r.model === undefined ? [] : [r.model]))]
    }
  }
  return { meter, records }
}
