/// Decoded rows waiting, column by column, to be appended to a batch a block at a time:
/// one capacity and uniqueness check per column per block instead of per row. Used by
/// ``JSONEventDecoder/decodeLines(_:firstLine:into:rejectingBlankLines:reject:)`` (on
/// temporary memory) and ``StagedEventDecoder`` (on memory it owns).
///
/// A plain view of memory owned elsewhere: `rows` rows per column, the numeric and
/// categorical columns one after the other.
struct StagedRows {
    /// Rows per block, for both users.
    static let rowsPerBlock = 64

    let rows: Int
    let numericCount: Int
    let categoricalCount: Int
    let timestamps: UnsafeMutablePointer<Int64>
    let positions: UnsafeMutablePointer<Int64>
    let numeric: UnsafeMutablePointer<Double>
    let models: UnsafeMutablePointer<EventBatch.ByteRange>
    let categorical: UnsafeMutablePointer<EventBatch.ByteRange>

    /// How many elements of each type the rows take.
    static func capacities(rows: Int, numericCount: Int, categoricalCount: Int) -> (integers: Int, doubles: Int, ranges: Int) {
        (2 &* rows, max(numericCount, 1) &* rows, (1 &+ categoricalCount) &* rows)
    }

    /// Rows over memory laid out as ``capacities(rows:numericCount:categoricalCount:)`` says.
    init(
        rows: Int, numericCount: Int, categoricalCount: Int, integers: UnsafeMutablePointer<Int64>,
        doubles: UnsafeMutablePointer<Double>, ranges: UnsafeMutablePointer<EventBatch.ByteRange>
    ) {
        self.rows = rows
        self.numericCount = numericCount
        self.categoricalCount = categoricalCount
        timestamps = integers
        positions = integers + rows
        numeric = doubles
        models = ranges
        categorical = ranges + rows
    }

    /// Stores the event just scanned into `scratch` as row `row`.
    @inline(__always)
    func stage(_ scratch: JSONEventDecoder.ScanScratch, position: Int64, row: Int) {
        let values = scratch.values, states = scratch.states
        let present = SlotState.present.rawValue
        timestamps[row] = Int64(bitPattern: values[CompiledPaths.timestampSlot])
        positions[row] = position
        let modelSlot = CompiledPaths.modelSlot
        models[row] = states[modelSlot] == present ? EventScanner.unpackRange(values[modelSlot]) : .missing
        var column = numeric + row
        let firstCategoricalSlot = 2 &+ numericCount
        for s in 2..<firstCategoricalSlot {
            column.pointee = states[s] == present ? Double(bitPattern: values[s]) : .nan
            column += rows
        }
        var categoricalColumn = categorical + row
        for s in firstCategoricalSlot..<(firstCategoricalSlot &+ categoricalCount) {
            categoricalColumn.pointee = states[s] == present ? EventScanner.unpackRange(values[s]) : .missing
            categoricalColumn += rows
        }
    }

    /// Appends rows `0..<count` to `batch`, whose columns match.
    func append(_ count: Int, to batch: inout EventBatch) {
        guard count > 0 else { return }
        batch.timestamps.append(contentsOf: UnsafeBufferPointer(start: timestamps, count: count))
        batch.positions.append(contentsOf: UnsafeBufferPointer(start: positions, count: count))
        batch.models.append(contentsOf: UnsafeBufferPointer(start: models, count: count))
        let rows = self.rows, numeric = self.numeric, categorical = self.categorical
        batch.numeric.withUnsafeMutableBufferPointer { columns in
            for f in 0..<columns.count {
                columns[f].append(contentsOf: UnsafeBufferPointer(start: numeric + f &* rows, count: count))
            }
        }
        batch.categorical.withUnsafeMutableBufferPointer { columns in
            for f in 0..<columns.count {
                columns[f].append(contentsOf: UnsafeBufferPointer(start: categorical + f &* rows, count: count))
            }
        }
    }
}
