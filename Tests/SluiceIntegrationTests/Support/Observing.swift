import PostgresWire
import SluiceLocalCluster

// What the tests read from a running Sluice besides query results: its admin console and
// its metrics listener.

/// The rows of a SHOW as dictionaries by column name.
func showRows(_ console: RawClient, _ what: String) throws -> [[String: String]] {
    console.send(FrontendMessage.query("SHOW \(what)"))
    var names: [String] = []
    var rows: [[String: String]] = []
    while let (type, body) = try console.readMessage() {
        if type == BackendMessageType.rowDescription {
            var reader = MessageReader(body)
            let count = Int(reader.int16() ?? 0)
            for _ in 0..<count {
                names.append(reader.cString() ?? "")
                _ = reader.bytes(count: 18)
            }
        }
        if type == BackendMessageType.dataRow {
            let values = BackendMessage.decodeDataRow(body)
            rows.append(Dictionary(uniqueKeysWithValues: zip(names, values.map { $0 ?? "" })))
        }
        if type == BackendMessageType.errorResponse { throw HarnessError("SHOW \(what): \(ErrorFields(body: body)?.message ?? "")") }
        if type == BackendMessageType.readyForQuery { break }
    }
    return rows
}

/// An HTTP GET of `path` on the metrics listener at `port`: the status and the body.
func scrapeMetrics(_ port: Int, _ path: String = "/metrics") throws -> (status: String, body: String) {
    let output = try ProcessRunner.run("python3", ["-c", """
        import sys, urllib.request, urllib.error
        try:
            r = urllib.request.urlopen("http://127.0.0.1:\(port)\(path)", timeout=10)
            print(r.status); print(r.read().decode())
        except urllib.error.HTTPError as e:
            print(e.code)
        """])
    let lines = output.stdout.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    return (String(lines.first ?? ""), lines.count > 1 ? String(lines[1]) : "")
}
