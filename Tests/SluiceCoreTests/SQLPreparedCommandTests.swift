import Testing
@testable import SluiceCore

/// Which queries are one SQL-level PREPARE, EXECUTE or DEALLOCATE.
@Suite struct SQLPreparedCommandTests {
    func command(_ sql: String) -> SQLPreparedCommand? { SQLPreparedCommand(Array(sql.utf8)) }
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func prepareKeepsWhatFollowsTheName() {
        #expect(command("PREPARE q (int, text) AS SELECT $1, $2;") == .prepare(name: "q", definition: bytes(" (int, text) AS SELECT $1, $2")))
        #expect(command("  /* c */ prepare \"Q\" as select ';'  ") == .prepare(name: "Q", definition: bytes(" as select ';'")))
        #expect(command("PREPARE q") == nil)
    }

    @Test func executeKeepsItsArguments() {
        #expect(command("EXECUTE Q(1, 'a;b')") == .execute(name: "q", arguments: bytes("(1, 'a;b')")))
        #expect(command("execute q") == .execute(name: "q", arguments: []))
    }

    @Test func deallocateWithOrWithoutPrepare() {
        #expect(command("DEALLOCATE q") == .deallocate(name: "q"))
        #expect(command("DEALLOCATE PREPARE q;") == .deallocate(name: "q"))
        #expect(command("DEALLOCATE \"all\"") == .deallocate(name: "all"))
        #expect(command("DEALLOCATE ALL") == nil, "left to the reset check")
        #expect(command("DEALLOCATE q extra") == nil)
    }

    @Test func anythingElseIsNotRecognised() {
        #expect(command("SELECT 1") == nil)
        #expect(command("EXPLAIN EXECUTE q") == nil)
        #expect(command("PREPARE q AS SELECT 1; EXECUTE q") == nil)
        #expect(command("EXECUTE q; SELECT 1") == nil)
        #expect(command("PREPARE q AS SELECT 'open") == nil)
        #expect(command("EXECUTE q /* open") == nil)
        #expect(command("EXECUTE 'q'") == nil)
    }
}
