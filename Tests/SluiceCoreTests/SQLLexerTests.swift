import Testing
@testable import SluiceCore

/// PostgreSQL's lexical rules: what is one token, and what is skipped.
@Suite struct SQLLexerTests {
    /// The tokens of `sql` as (kind, text) pairs.
    func tokens(_ sql: String) -> [(SQLLexer.Kind, String)] {
        var lexer = SQLLexer(Array(sql.utf8))
        var result: [(SQLLexer.Kind, String)] = []
        while let token = lexer.next() {
            result.append((token.kind, String(decoding: lexer.text[token.range], as: UTF8.self)))
        }
        return result
    }

    func texts(_ sql: String) -> [String] { tokens(sql).map(\.1) }

    @Test func wordsNumbersParametersAndSymbols() {
        let all = tokens("SELECT a1, $2::int8 + 1.5e3 FROM t;")
        #expect(all.map(\.1) == ["SELECT", "a1", ",", "$2", "::", "int8", "+", "1.5e3", "FROM", "t", ";"])
        #expect(all.map(\.0) == [.word, .word, .symbol, .parameter, .symbol, .word, .symbol, .number, .word, .word, .symbol])
    }

    @Test func commentsAreSkippedAndBlockCommentsNest() {
        #expect(texts("-- one\nSELECT /* a /* nested */ still comment */ 1 --tail") == ["SELECT", "1"])
        #expect(texts("1--2") == ["1"])
        #expect(texts("a*/*c*/b") == ["a", "*", "b"])
    }

    @Test func quotedStringsAndIdentifiersAreOneTokenEach() {
        #expect(texts("'it''s; -- not a comment'") == ["'it''s; -- not a comment'"])
        #expect(texts(#"E'a\'b;' x"#) == [#"E'a\'b;'"#, "x"])
        #expect(texts(#"'a\' b"#) == [#"'a\'"#, "b"], "backslash is plain in a standard string")
        #expect(texts(#""my ""table"""; x"#) == [#""my ""table""""#, ";", "x"])
        #expect(texts("U&'d\\0061t' B'101' X'FF' N'n'").count == 4)
    }

    @Test func dollarQuotesEndOnlyAtTheirOwnTag() {
        #expect(texts("$$ a ' b $$ c") == ["$$ a ' b $$", "c"])
        #expect(texts("$fn$ $$ inner $$ $fn$;") == ["$fn$ $$ inner $$ $fn$", ";"])
        let all = tokens("$1 $a$x$a$")
        #expect(all.map(\.0) == [.parameter, .string])
    }

    @Test func unterminatedLiteralsAndCommentsAreMarked() {
        var lexer = SQLLexer(Array("SELECT 'open".utf8))
        _ = lexer.next()
        #expect(lexer.next()?.isComplete == false)
        var comment = SQLLexer(Array("SELECT /* open".utf8))
        _ = comment.next()
        #expect(comment.next() == nil)
        #expect(!comment.endedCleanly)
    }

    @Test func identifiersFoldOrKeepTheirCase() {
        var lexer = SQLLexer(Array(#"MyName "My""Name""#.utf8))
        let word = lexer.next()!
        let quoted = lexer.next()!
        #expect(lexer.identifier(word) == "myname")
        #expect(lexer.identifier(quoted) == #"My"Name"#)
        #expect(lexer.isWord(word, "myname"))
        #expect(!lexer.isWord(quoted, "myname"))
    }
}
