import Testing
@testable import SluiceCore

@Suite struct TrackedParametersTests {
    @Test func canonicalNames() {
        let tracked = TrackedParameters()
        #expect(tracked.canonicalName("datestyle") == "DateStyle")
        #expect(tracked.canonicalName("DATESTYLE") == "DateStyle")
        #expect(tracked.canonicalName("timezone") == "TimeZone")
        #expect(tracked.canonicalName("intervalstyle") == "IntervalStyle")
        #expect(tracked.canonicalName("Client_Encoding") == "client_encoding")
        #expect(tracked.canonicalName("application_name") == "application_name")
        #expect(tracked.canonicalName("search_path") == "search_path")
        #expect(tracked.canonicalName("standard_conforming_strings") == "standard_conforming_strings")
        #expect(tracked.canonicalName("work_mem") == nil)
        #expect(tracked.canonicalName("") == nil)
        #expect(Set(tracked.names) == Set(TrackedParameters.standard))
    }

    @Test func extraParameters() {
        let tracked = TrackedParameters(extra: ["Work_Mem", "statement_timeout"])
        #expect(tracked.canonicalName("work_mem") == "Work_Mem")
        #expect(tracked.canonicalName("STATEMENT_TIMEOUT") == "statement_timeout")
        #expect(tracked.canonicalName("datestyle") == "DateStyle")
        #expect(tracked.names.count == TrackedParameters.standard.count + 2)
        #expect(tracked != TrackedParameters())
        #expect(TrackedParameters(extra: []) == TrackedParameters())
    }

    @Test func sqlLiteralQuoting() {
        #expect(sqlLiteral("ISO, MDY") == "'ISO, MDY'")
        #expect(sqlLiteral("") == "''")
        #expect(sqlLiteral("it's") == "'it''s'")
        #expect(sqlLiteral("''") == "''''''")
        #expect(sqlLiteral("a\\b") == "E'a\\\\b'")
        #expect(sqlLiteral("it's C:\\dir") == "E'it''s C:\\\\dir'")
        #expect(sqlLiteral("\\") == "E'\\\\'")
        #expect(sqlLiteral("ünï") == "'ünï'")
    }

    @Test func sqlIdentifierQuoting() {
        #expect(sqlIdentifier("DateStyle") == "\"DateStyle\"")
        #expect(sqlIdentifier("a\"b") == "\"a\"\"b\"")
        #expect(sqlIdentifier("") == "\"\"")
        #expect(sqlIdentifier("x'y") == "\"x'y\"")
    }
}
