import PwdirCore

/// The command line as the kernel gave it.
enum Arguments {
    /// Refuses an argument that is not valid UTF-8 before anything reads it: Swift would repair
    /// it (U+FFFD) silently, and a name or an address must be stored as it was typed, or not at all.
    static func requireUTF8() throws(PwdirError) {
        for i in 1..<max(Int(CommandLine.argc), 1) {
            guard let p = CommandLine.unsafeArgv[i] else { continue }
            var n = 0
            while p[n] != 0 { n += 1 }
            let bytes = UnsafeRawBufferPointer(start: p, count: n)
            if String(validating: bytes, as: UTF8.self) == nil {
                throw .invalidValue(field: "argument \(i)", reason: "it is not valid UTF-8 text; nothing was changed")
            }
        }
    }
}
