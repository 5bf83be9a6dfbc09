import Foundation
import SluiceLocalCluster

/// A test CA and the certificates it signs, made with the openssl command once per test
/// process: a server certificate for localhost and 127.0.0.1 (used by Sluice and by
/// PostgreSQL), a client certificate for the role `app`, and an unrelated CA that verifies
/// neither.
enum Certificates {
    struct Files {
        let directory: String
        var ca: String { "\(directory)/ca.crt" }
        var otherCA: String { "\(directory)/other-ca.crt" }
        var serverCertificate: String { "\(directory)/server.crt" }
        var serverKey: String { "\(directory)/server.key" }
        var clientCertificate: String { "\(directory)/client.crt" }
        var clientKey: String { "\(directory)/client.key" }
    }

    static let files: Files = {
        do {
            return try make()
        } catch {
            fatalError("cannot make test certificates: \(error)")
        }
    }()

    private static func make() throws -> Files {
        let directory = NSTemporaryDirectory() + "sluice-certs-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let files = Files(directory: directory)
        func openssl(_ arguments: [String]) throws {
            let output = try ProcessRunner.run("openssl", arguments, currentDirectory: directory)
            guard output.status == 0 else { throw HarnessError("openssl \(arguments.first ?? ""): \(output.stderr)") }
        }
        for name in ["ca", "other-ca"] {
            try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-sha256",
                         "-subj", "/CN=Sluice test \(name)", "-keyout", "\(name).key", "-out", "\(name).crt"])
        }
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: "\(directory)/server.ext", atomically: true, encoding: .utf8)
        for (name, subject, extensions) in [("server", "/CN=localhost", ["-extfile", "server.ext"]), ("client", "/CN=app", [])] {
            try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", "\(name).key", "-out", "\(name).csr"])
            try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                         "-days", "2", "-sha256", "-out", "\(name).crt"] + extensions)
        }
        // libpq refuses a client key that others can read.
        chmod(files.clientKey, 0o600)
        return files
    }
}
