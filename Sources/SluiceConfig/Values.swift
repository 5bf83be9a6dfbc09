/// A setting or parameter value that does not fit its type; `expected` says what would.
struct InvalidValue: Error, Sendable {
    var expected: String

    /// `key: invalid value "text"; expected …`, the wording every value error uses.
    func message(key: String, value: String) -> String {
        "\(key): invalid value \"\(value)\"; expected \(expected)"
    }
}

/// Parsers for the value types PgBouncer's configuration uses.
enum Values {
    static func integer(_ text: String, in range: ClosedRange<Int>) throws(InvalidValue) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw InvalidValue(expected: describe(range))
        }
        return value
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        switch (range.lowerBound, range.upperBound) {
        case (0, Int.max): "a non-negative integer"
        case (1, Int.max): "a positive integer"
        case (let low, let high): "an integer from \(low) to \(high)"
        }
    }

    /// 0/1, on/off, yes/no, true/false, in any case.
    static func bool(_ text: String) throws(InvalidValue) -> Bool {
        switch text.lowercased() {
        case "1", "on", "yes", "true": return true
        case "0", "off", "no", "false": return false
        default: throw InvalidValue(expected: "a boolean (0, 1, on, off, yes, no, true or false)")
        }
    }

    /// Seconds as PgBouncer writes them (a plain, possibly fractional number), optionally
    /// followed by a unit: `ms`, `s`, `min`, `h` or `d`.
    static func seconds(_ text: String) throws(InvalidValue) -> Double {
        let invalid = InvalidValue(
            expected: "a non-negative number of seconds, optionally with a unit (ms, s, min, h or d)")
        let numberEnd = text.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? text.endIndex
        let unit = text[numberEnd...].trimmed.lowercased()
        let scale: Double
        switch unit {
        case "", "s": scale = 1
        case "ms": scale = 0.001
        case "min": scale = 60
        case "h": scale = 3600
        case "d": scale = 86400
        default: throw invalid
        }
        guard let number = Double(text[..<numberEnd]), number.isFinite else { throw invalid }
        return number * scale
    }

    /// A comma-separated list with each item trimmed and empty items dropped.
    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map(\.trimmed).filter { !$0.isEmpty }
    }

    /// One of an enumeration's raw values, matched without regard to case.
    static func choice<T: RawRepresentable & CaseIterable>(
        _ text: String, of type: T.Type
    ) throws(InvalidValue) -> T where T.RawValue == String {
        let lowered = text.lowercased()
        if let match = T.allCases.first(where: { $0.rawValue.lowercased() == lowered }) {
            return match
        }
        throw InvalidValue(expected: alternatives(T.allCases.map(\.rawValue)))
    }

    /// One of fixed spellings, matched without regard to case and returned in canonical form.
    static func choice(_ text: String, among names: [String]) throws(InvalidValue) -> String {
        let lowered = text.lowercased()
        guard let match = names.first(where: { $0 == lowered }) else {
            throw InvalidValue(expected: alternatives(names))
        }
        return match
    }

    /// "a, b or c".
    static func alternatives(_ names: [String]) -> String {
        guard names.count > 1 else { return names.first ?? "" }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
