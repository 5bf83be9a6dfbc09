import Foundation
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// The commented example configurations in conf/ stay valid: `sluice --check` accepts
    /// each, without a warning.
    @Suite
    struct ExampleConfigurationTests {
        static let conf = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../conf").standardized.path

        @Test(arguments: ["sluice.ini", "sidecar.ini", "shared-ec2.ini", "django-rw.ini"])
        func exampleIsValid(file: String) throws {
            let output = try ProcessRunner.run(try SluiceInstance.binaryPath(), ["--check", "\(Self.conf)/\(file)"])
            #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
            #expect(output.stderr.isEmpty, "warnings: \(output.stderr)")
        }
    }
}
