import Testing
@testable import SluiceConfig

@Suite struct IniReaderTests {
    private func read(_ text: String, files: [String: String] = [:]) -> ([IniItem], [ConfigDiagnostic]) {
        let result = IniReader.read(text: text, path: "/cfg/main.ini", readFile: { files[$0] })
        return (result.items, result.diagnostics)
    }

    @Test func sectionsEntriesCommentsAndLineNumbers() {
        let (items, diagnostics) = read("""
            ; comment
              # indented comment
            [ PgBouncer ]

              listen_port   =   7000  
            key = value ; not a comment
            empty =
            """)
        #expect(diagnostics.isEmpty)
        #expect(items == [
            IniItem(line: .section("pgbouncer"), location: SourceLocation(file: "/cfg/main.ini", line: 3)),
            IniItem(line: .entry(key: "listen_port", value: "7000"),
                    location: SourceLocation(file: "/cfg/main.ini", line: 5)),
            IniItem(line: .entry(key: "key", value: "value ; not a comment"),
                    location: SourceLocation(file: "/cfg/main.ini", line: 6)),
            IniItem(line: .entry(key: "empty", value: ""), location: SourceLocation(file: "/cfg/main.ini", line: 7)),
        ])
    }

    @Test func crlfLineEndingsCountOnce() {
        let (items, _) = read("[a]\r\nx = 1\r\ny = 2\r\n")
        #expect(items.last == IniItem(line: .entry(key: "y", value: "2"),
                                      location: SourceLocation(file: "/cfg/main.ini", line: 3)))
    }

    @Test func quotedKeysKeepSpacesEqualsAndDoubledQuotes() {
        let (items, diagnostics) = read("""
            "my db" = host=a
            "a=b""c" = x
            """)
        #expect(diagnostics.isEmpty)
        #expect(items.map(\.line) == [.entry(key: "my db", value: "host=a"), .entry(key: "a=b\"c", value: "x")])
    }

    @Test func malformedLinesAreErrorsWithLineNumbers() {
        let (_, diagnostics) = read("[a]\njust words\n[broken\n= value\n\"open = 1\n")
        #expect(diagnostics.map(\.line) == [2, 3, 4, 5])
        #expect(diagnostics.allSatisfy { $0.severity == .error && $0.file == "/cfg/main.ini" })
        #expect(diagnostics[0].message.contains("expected \"key = value\""))
        #expect(diagnostics[1].message.contains("malformed section header"))
    }

    @Test func includeIsRelativeToTheIncludingFileAndExpandsInPlace() {
        let (items, diagnostics) = read("""
            [databases]
            %include conf.d/dbs.ini
            after = 1
            """, files: [
                "/cfg/conf.d/dbs.ini": "inner = 2\n%include ../more.ini\n",
                "/cfg/more.ini": "[users]\nbob = x",
            ])
        #expect(diagnostics.isEmpty)
        #expect(items.map(\.line) == [
            .section("databases"), .entry(key: "inner", value: "2"), .section("users"),
            .entry(key: "bob", value: "x"), .entry(key: "after", value: "1"),
        ])
        #expect(items[1].location == SourceLocation(file: "/cfg/conf.d/dbs.ini", line: 1))
        #expect(items[3].location == SourceLocation(file: "/cfg/more.ini", line: 2))
        #expect(items[4].location == SourceLocation(file: "/cfg/main.ini", line: 3))
    }

    @Test func absoluteAndQuotedIncludePaths() {
        let (items, diagnostics) = read("%include \"/other/x.ini\"", files: ["/other/x.ini": "[x]"])
        #expect(diagnostics.isEmpty)
        #expect(items.map(\.line) == [.section("x")])
    }

    @Test func missingIncludeNamesFileAndLine() {
        let (_, diagnostics) = read("[a]\n%include nope.ini\n")
        #expect(diagnostics.count == 1)
        #expect(diagnostics[0].description == "/cfg/main.ini:2: %include: cannot read file \"/cfg/nope.ini\"")
    }

    @Test func includeLoopIsReportedOnce() {
        let (items, diagnostics) = read("%include a.ini\n", files: [
            "/cfg/a.ini": "a = 1\n%include ./sub/../b.ini\n",
            "/cfg/b.ini": "%include main.ini\n",
        ])
        #expect(items.map(\.line) == [.entry(key: "a", value: "1")])
        #expect(diagnostics.count == 1)
        #expect(diagnostics[0].file == "/cfg/b.ini")
        #expect(diagnostics[0].line == 1)
        #expect(diagnostics[0].message.contains("include loop"))
    }

    @Test func selfIncludeIsALoop() {
        let (_, diagnostics) = read("%include main.ini", files: ["/cfg/main.ini": "x"])
        #expect(diagnostics.map(\.line) == [1])
        #expect(diagnostics.first?.message.contains("include loop") == true)
    }

    @Test func pathsResolveAndNormalize() {
        #expect(Paths.resolve("u.txt", relativeTo: "pgbouncer.ini") == "u.txt")
        #expect(Paths.resolve("u.txt", relativeTo: "/etc/pgbouncer.ini") == "/etc/u.txt")
        #expect(Paths.resolve("../u.txt", relativeTo: "/etc/a/pgbouncer.ini") == "/etc/u.txt")
        #expect(Paths.resolve("/abs/./u.txt", relativeTo: "/etc/pgbouncer.ini") == "/abs/u.txt")
        #expect(Paths.resolve("u.txt", relativeTo: "/pgbouncer.ini") == "/u.txt")
        #expect(Paths.normalize("../a//b/./c/..") == "../a/b")
    }
}
