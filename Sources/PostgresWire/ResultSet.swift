/// A result set Sluice answers itself (the admin console): RowDescription, DataRows and
/// CommandComplete, with text-format values.
public struct ResultSet: Sendable, Equatable {
    /// The column types the admin console reports, as PostgreSQL type OIDs (PgBouncer's set:
    /// times are text).
    public enum ColumnType: Int32, Sendable {
        case int8 = 20
        case int4 = 23
        case text = 25
        case numeric = 1700
    }

    public struct Column: Sendable, Equatable {
        public var name: String
        public var type: ColumnType

        public init(_ name: String, _ type: ColumnType) {
            self.name = name
            self.type = type
        }
    }

    public var columns: [Column]
    public var rows: [[String?]] = []

    public init(_ columns: [Column]) {
        self.columns = columns
    }

    public mutating func append(_ row: [String?]) {
        precondition(row.count == columns.count, "a row of \(row.count) values for \(columns.count) columns")
        rows.append(row)
    }

    /// RowDescription, a DataRow per row, and CommandComplete with `tag`.
    public func encoded(tag: String) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(BackendMessageType.rowDescription) { body in
            body.int16(Int16(columns.count))
            for column in columns {
                body.cString(column.name)
                body.int32(0)   // table OID
                body.int16(0)   // column number
                body.int32(column.type.rawValue)
                body.int16(Self.size(column.type))
                body.int32(-1)  // type modifier
                body.int16(0)   // text format
            }
        }
        for row in rows {
            writer.message(BackendMessageType.dataRow) { body in
                body.int16(Int16(row.count))
                for value in row {
                    guard let value else {
                        body.int32(-1)
                        continue
                    }
                    body.int32(Int32(value.utf8.count))
                    body.raw(value.utf8)
                }
            }
        }
        return writer.bytes + BackendMessage.commandComplete(tag)
    }

    /// The type's fixed size, -1 for variable-length ones.
    private static func size(_ type: ColumnType) -> Int16 {
        switch type {
        case .int4: 4
        case .int8: 8
        case .text, .numeric: -1
        }
    }
}

extension BackendMessage {
    public static func commandComplete(_ tag: String) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(BackendMessageType.commandComplete) { $0.cString(tag) }
        return writer.bytes
    }
}
