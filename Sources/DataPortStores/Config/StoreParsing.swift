import DataPortIO
import DataPortModel
import Foundation

/// Reading one store of a stores config: its name, type, options and datasets.
extension StoresConfig {
    static func parseStore(_ s: JSONObjectReader, baseDirectory: String, registry: StoreRegistry, problems: ProblemList) throws -> StoreConfig {
        let name = try s.string("name")
        guard Dataset.isValidName(name) || s.isAbsent("name") else { throw s.error("\(s.path).name '\(name)' must match [a-z][a-z0-9_]*") }
        let type = try s.string("type")
        let (options, notText) = try parseOptions(s)
        // A type the registry does not know is refused when its connector is asked for.
        if let declared = registry.options[type] {
            for p in StoreOption.problems(options, declared: declared, type: type, notText: notText) { problems.add("store \(name): \(p.message)", code: p.code) }
        }
        var datasets: [DatasetConfig] = []
        for d in try s.objects("datasets") {
            datasets.append(try parseDataset(d, store: name, connector: type, problems: problems))
        }
        try s.finish()
        return StoreConfig(name: name, type: type, options: options, datasets: datasets, baseDirectory: baseDirectory)
    }

    /// The store's options as text (numbers and `true`/`false` as their text), and the names of
    /// those given as a list or an object (a problem for the option check to report).
    private static func parseOptions(_ s: JSONObjectReader) throws -> ([String: String], Set<String>) {
        var options: [String: String] = [:]
        var notText = Set<String>()
        guard let raw = s.value("options"), raw != .null else { return (options, notText) }
        guard case .object(let members) = raw else { throw s.error("\(s.path).options must be an object") }
        for m in members {
            switch m.value {
            case .string(let v): options[m.key] = v
            case .number(let n): options[m.key] = n
            case .bool(let b): options[m.key] = b ? "true" : "false"
            default: notText.insert(m.key)
            }
        }
        return (options, notText)
    }
}
