import Glibc
import Logging
import SluiceConfig
import SluiceServer

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch try CommandLineOptions.parse(arguments) {
    case .version:
        print("sluice \(SluiceVersion.current)")
    case .help:
        print(CommandLineOptions.usage)
    case .check(let source):
        exit(checkConfiguration(source))
    case .run(let options):
        try runPooler(options)
    case .demo:
        try Demo.run()
    }
} catch let error as UsageError {
    printError("sluice: \(error.message)\n\(CommandLineOptions.usage)\n")
    exit(2)
} catch {
    printError("sluice: \(error)\n")
    exit(1)
}
