import DataPortModel

/// The store options as people read them, from the same declarations the check uses: the tables
/// of `formats/stores-config.md` ("Store types", kept equal by `StoreOptionsTests`) and the list
/// `dataport check --help` prints.
extension StoreRegistry {
    /// The registered types that declare options, in name order.
    private var documentedTypes: [(type: String, options: [StoreOption])] {
        options.keys.sorted().compactMap { t in options[t].map { (t, $0) } }
    }

    /// One Markdown table per store type.
    package var optionsMarkdown: String {
        documentedTypes.map { type, options in
            var s = "### `\(type)`\n\n| option | kind | required | default | meaning |\n| --- | --- | --- | --- | --- |\n"
            for o in options {
                let cells = ["`\(o.name)`", o.kind.label, o.required ? "yes" : "no", o.defaultValue.map { "`\($0)`" } ?? "", o.help]
                s += "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n"
            }
            return s
        }.joined(separator: "\n")
    }

    /// The same as plain text for a terminal, wrapped at `width` columns.
    package func optionsHelp(width: Int = 100) -> String {
        var s = "Store types and their options (formats/stores-config.md, \"Store types\"):\n"
        for (type, options) in documentedTypes {
            s += "  \(type)\n"
            for o in options {
                var head = "    \(o.name)  \(o.kind.label.replacingOccurrences(of: "`", with: ""))"
                if o.required { head += ", required" }
                if let d = o.defaultValue { head += ", default \(d)" }
                s += head + "\n" + Self.wrap(o.help.replacingOccurrences(of: "`", with: ""), indent: 8, width: width)
            }
        }
        return s
    }

    /// `text` in lines of at most `width` columns (a longer word gets a line of its own), each indented.
    private static func wrap(_ text: String, indent: Int, width: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && indent + line.count + 1 + word.count > width { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines.map { pad + $0 + "\n" }.joined()
    }
}
