/// A person's name (`cn`): at most 128 characters and 512 bytes (so one "character" cannot
/// carry a megabyte of combining marks), no control character, no bidirectional override or
/// isolate and no line or paragraph separator (they would hide or reorder text in every table
/// and log it appears in).
public enum FullName {
    public static let maxScalars = 128
    public static let maxBytes = 512

    public static func validate(_ name: String, field: String) throws(PwdirError) {
        // Printable ASCII within the limits (most names): nothing else to check.
        if name.utf8.count <= maxScalars && name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return }
        if name.utf8.count > maxBytes || name.unicodeScalars.count > maxScalars {
            throw .invalidValue(field: field, reason: "longer than \(maxScalars) characters or \(maxBytes) bytes")
        }
        if name.unicodeScalars.contains(where: PwdirError.isUnsafeToShow) {
            throw .invalidValue(field: field, reason: "it holds a control character, a bidirectional override or an invisible format character (a line break?), which is not allowed")
        }
    }
}
