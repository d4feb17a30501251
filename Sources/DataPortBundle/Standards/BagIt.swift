import DataPortModel

/// The BagIt (RFC 8493) tag files that make a bundle's top folder a valid bag: the payload is
/// `data/`; `manifest-sha256.txt` lists it, `tagmanifest-sha256.txt` lists the tag files.
public enum BagIt {
    public static let declarationName = "bagit.txt"
    public static let infoName = "bag-info.txt"
    public static let manifestName = "manifest-sha256.txt"
    public static let tagManifestName = "tagmanifest-sha256.txt"
    /// The BagIt files, which `manifest.json` cannot list (the tag manifest covers `manifest.json`).
    public static let fileNames: Set<String> = [declarationName, infoName, manifestName, tagManifestName]

    public static let declaration = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

    /// A bag-info value on one line (RFC 8493 allows folding; one line is simpler for every reader).
    static func clean(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    }

    /// `bag-info.txt`: source organisation, contact, bagging date, Payload-Oxum.
    public static func info(_ m: Manifest, payloadBytes: Int64, payloadFiles: Int) -> String {
        var s = "Source-Organization: \(clean(m.controller.name))\n"
        if let a = m.controller.address { s += "Organization-Address: \(clean(a))\n" }
        s += "Contact-Email: \(clean(m.controller.contact))\n"
        s += m.scope == .erasure
            ? "External-Description: Receipt of an erasure request (GDPR Art. 17), holding no erased personal data; see index.html and data/receipt.json.\n"
            : "External-Description: Personal data of one data subject, scope \(m.scope.rawValue) (GDPR Art. \(m.scope == .access ? "15" : "20")); see index.html and manifest.json.\n"
        s += "Bagging-Date: \(m.generatedAt.text.prefix(10))\n"
        s += "Payload-Oxum: \(payloadBytes).\(payloadFiles)\n"
        s += "Bag-Software-Agent: dataport \(m.toolVersion)\n"
        return s
    }

    /// A manifest file: `<sha256>  <path>` per line, sorted by path. Paths are percent-encoded for CR, LF and `%` as RFC 8493 requires.
    public static func manifest(_ entries: [(path: String, sha256: String)]) -> String {
        entries.sorted { $0.path < $1.path }.map { "\($0.sha256)  \(encodePath($0.path))\n" }.joined()
    }

    static func encodePath(_ p: String) -> String {
        // Most paths need nothing (Foundation's replacing is slow, and a batch writes many manifests).
        guard p.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == 10 || $0 == 13 }) else { return p }
        return p.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\n", with: "%0A").replacingOccurrences(of: "\r", with: "%0D")
    }

    /// Parses a manifest file into path -> sha256; malformed lines are an invalid bundle.
    public static func parseManifest(_ text: String, name: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].count == 64, parts[1].hasPrefix(" ") else {
                throw DataPortError(.invalidBundle, "malformed line in \(name)")
            }
            let path = String(parts[1].dropFirst()).replacingOccurrences(of: "%0A", with: "\n").replacingOccurrences(of: "%0D", with: "\r").replacingOccurrences(of: "%25", with: "%")
            guard out.updateValue(String(parts[0]), forKey: path) == nil else { throw DataPortError(.invalidBundle, "\(path) is listed twice in \(name)") }
        }
        return out
    }
}

import Foundation
