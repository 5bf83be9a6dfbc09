/// Assembles a Configuration from INI items, collecting diagnostics as it goes.
struct ConfigurationBuilder {
    private enum Section {
        case none, databases, users, settings, ignored
    }

    var configuration: Configuration
    var diagnostics: [ConfigDiagnostic] = []
    private var section = Section.none
    /// Where each setting was last written, for diagnostics raised after parsing.
    private var settingLocations: [String: SourceLocation] = [:]

    /// Looks up environment variables for `[databases]` values.
    private let environment: (String) -> String?

    init(sourcePath: String, environment: @escaping (String) -> String?) {
        configuration = Configuration(sourcePath: sourcePath)
        self.environment = environment
    }

    mutating func add(_ item: IniItem) {
        switch item.line {
        case .section(let name):
            switch name {
            case "databases": section = .databases
            case "users": section = .users
            case "pgbouncer", "sluice": section = .settings
            default:
                section = .ignored
                diagnostics.append(.warning(item.location, "unknown section [\(name)]; its entries are ignored"))
            }
        case .entry(let key, let value):
            switch section {
            case .none:
                diagnostics.append(.error(item.location, "\"\(key)\" appears before any [section]"))
            case .databases: addDatabase(name: key, rawValue: value, at: item.location)
            case .users: addUser(name: key, value: value, at: item.location)
            case .settings: addSetting(key: key.lowercased(), value: value, at: item.location)
            case .ignored: break
            }
        }
    }

    private mutating func addDatabase(name: String, rawValue: String, at location: SourceLocation) {
        let value: String
        switch EnvironmentExpansion.expand(rawValue, lookup: environment) {
        case .success(let expanded): value = expanded
        case .failure(let missing):
            diagnostics.append(.error(location, "database \"\(name)\": \(missing.message)"))
            return
        }
        let (entry, errors) = DatabaseEntry.parse(name: name, connectionString: value)
        diagnostics += errors.map { .error(location, $0) }
        if name == "*" {
            configuration.fallbackDatabase = entry
        } else {
            if configuration.databases[name] != nil {
                diagnostics.append(.warning(location, "database \"\(name)\" is defined again; this definition wins"))
            }
            configuration.databases[name] = entry
        }
    }

    private mutating func addUser(name: String, value: String, at location: SourceLocation) {
        let (entry, errors) = UserEntry.parse(name: name, connectionString: value)
        diagnostics += errors.map { .error(location, $0) }
        configuration.users[name] = entry
    }

    private mutating func addSetting(key: String, value: String, at location: SourceLocation) {
        do {
            switch try configuration.settings.apply(key: key, value: value) {
            case .applied:
                settingLocations[key] = location
            case .unsupported:
                diagnostics.append(.warning(location, "\(key): PgBouncer setting not supported by Sluice; ignored"))
            case .unknown:
                diagnostics.append(.error(location, Settings.unknownKeyMessage(key)))
            }
        } catch {
            diagnostics.append(.error(location, error.message(key: key, value: value)))
        }
    }

    /// Reads `auth_file`, if set, resolved against the directory of the file that set it.
    mutating func loadAuthFile(readFile: (String) -> String?) {
        guard let authFile = configuration.settings.authFile,
              let (resolved, text) = read(authFile, namedBy: "auth_file", readFile: readFile) else { return }
        configuration.settings.authFile = resolved
        let (secrets, errors) = UserlistParser.parse(text: text, path: resolved)
        configuration.userSecrets = secrets
        diagnostics += errors
    }

    /// Reads `auth_hba_file` when `auth_type = hba`, which needs it.
    mutating func loadHBAFile(readFile: (String) -> String?) {
        guard configuration.settings.authType == .hba else { return }
        guard let file = configuration.settings.authHBAFile else {
            diagnostics.append(.error(location(of: "auth_type"), "auth_type hba needs auth_hba_file"))
            return
        }
        guard let (resolved, text) = read(file, namedBy: "auth_hba_file", readFile: readFile) else { return }
        configuration.settings.authHBAFile = resolved
        let (rules, errors) = HostBasedAuthentication.parse(text: text, path: resolved)
        configuration.hostBasedAuthentication = rules
        diagnostics += errors
    }

    /// `dns_hosts_file` against the directory of the file that set it (it is read later, at
    /// each lookup, so a missing file is no error here).
    mutating func resolveDNSHostsFile() {
        guard let file = configuration.settings.dnsHostsFile else { return }
        configuration.settings.dnsHostsFile = Paths.resolve(file, relativeTo: location(of: "dns_hosts_file").file)
    }

    /// Where `key` was set, else the main file.
    private func location(of key: String) -> SourceLocation {
        settingLocations[key] ?? SourceLocation(file: configuration.sourcePath, line: 0)
    }

    /// The path `key` names, resolved against the directory of the file that set it, and the
    /// file's text; nil (with an error) when it cannot be read.
    private mutating func read(_ path: String, namedBy key: String, readFile: (String) -> String?) -> (String, String)? {
        let location = location(of: key)
        let resolved = Paths.resolve(path, relativeTo: location.file)
        guard let text = readFile(resolved) else {
            diagnostics.append(.error(location, "\(key): cannot read file \"\(resolved)\""))
            return nil
        }
        return (resolved, text)
    }

    /// Checks that need the whole configuration.
    mutating func validate() {
        let settings = configuration.settings
        if settings.authType.requiresAuthFile, settings.authFile == nil {
            let location = settingLocations["auth_type"] ?? SourceLocation(file: configuration.sourcePath, line: 0)
            diagnostics.append(.error(
                location, "auth_type \(settings.authType.rawValue) needs auth_file to be set to a userlist file"))
        }
    }
}
