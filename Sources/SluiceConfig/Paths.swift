/// Plain-string path handling, so relative `%include` and `auth_file` paths resolve against
/// the directory of the file that names them, independent of the working directory.
enum Paths {
    /// The directory part of `path` ("" for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// `path` unchanged if absolute, else appended to the directory of `referencingFile`,
    /// with `.` and `..` components folded away.
    static func resolve(_ path: String, relativeTo referencingFile: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        let base = directory(of: referencingFile)
        if base.isEmpty { return normalize(path) }
        return normalize(base == "/" ? "/" + path : base + "/" + path)
    }

    /// Folds `.`, `..` and repeated slashes, so one file reached by two spellings compares equal.
    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".":
                continue
            case "..":
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !absolute {
                    parts.append(part)
                }
            default:
                parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
