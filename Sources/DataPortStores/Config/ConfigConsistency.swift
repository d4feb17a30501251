import DataPortModel

/// The checks that need the whole config (no store access): unique names, fields that roles
/// name, references within a store, every dataset reachable from an identity. Every problem is
/// reported, in one `invalidConfig` error.
extension StoresConfig {
    func check() throws {
        var problems = namingProblems()
        for d in datasets { problems += fieldRoleProblems(d) + referenceProblems(d) }
        problems += reachabilityProblems()
        if let (ds, f) = subjectName, dataset(named: ds)?.field(named: f).map({ !$0.secret }) != true {
            problems.append("subjectName names unknown field \(ds).\(f)")
        }
        if !problems.isEmpty { throw ConfigProblems.error(problems, file: file) }
    }

    /// Stores, datasets and fields declared twice.
    private func namingProblems() -> [String] {
        var problems: [String] = []
        var storeNames = Set<String>(), datasetNames = Set<String>()
        for s in stores {
            if !storeNames.insert(s.name).inserted { problems.append("store \(s.name) is declared twice") }
            for d in s.datasets {
                if !datasetNames.insert(d.name).inserted { problems.append("dataset \(d.name) is declared twice") }
                var fieldNames = Set<String>()
                for f in d.fields where !fieldNames.insert(f.name).inserted { problems.append("dataset \(d.name): field \(f.name) is declared twice") }
            }
        }
        return problems
    }

    /// The key, generated fields, matches, yields and category of one dataset.
    private func fieldRoleProblems(_ d: DatasetConfig) -> [String] {
        var problems: [String] = []
        func exportedField(_ n: String, _ role: String) {
            guard let f = d.field(named: n) else { return problems.append("dataset \(d.name): \(role) names unknown field \(n)") }
            if f.secret { problems.append("dataset \(d.name): \(role) field \(n) is secret") }
        }
        if let k = d.key { exportedField(k, "key") }
        for f in d.fields where f.generated && f.name != d.key {
            problems.append("dataset \(d.name): only the key field can be generated, not \(f.name)")
        }
        for m in d.matches where d.field(named: m.field) == nil { problems.append("dataset \(d.name): match names unknown field \(m.field)") }
        for y in d.yields { exportedField(y.field, "yields") }
        if d.matches.isEmpty { problems.append("dataset \(d.name) has no match: it is not linked to the subject") }
        let c = d.metadata.category
        if !c.isBuiltIn && !categories.contains(where: { $0.category == c }) {
            problems.append("dataset \(d.name): category \(c.rawValue) is neither published (formats/categories.md) nor defined in categories")
        }
        return problems
    }

    /// A `references` match names a dataset of the same store and an exported field of it.
    private func referenceProblems(_ d: DatasetConfig) -> [String] {
        var problems: [String] = []
        for case .reference(_, let target, let key) in d.matches {
            guard let t = dataset(named: target) else { problems.append("dataset \(d.name) references unknown dataset \(target)"); continue }
            guard t.store == d.store else {
                problems.append("dataset \(d.name) references \(target) in another store; link stores through an identity (yields) instead")
                continue
            }
            if t.field(named: key).map({ !$0.secret }) != true { problems.append("dataset \(d.name) references unknown field \(target).\(key)") }
        }
        return problems
    }

    /// Every dataset must be reachable from an identity, through references.
    private func reachabilityProblems() -> [String] {
        var reachable = Set(datasets.filter { $0.matches.contains { if case .identity = $0 { true } else { false } } }.map(\.name))
        var changed = true
        while changed {
            changed = false
            for d in datasets where !reachable.contains(d.name) {
                if d.matches.contains(where: { if case .reference(_, let t, _) = $0 { reachable.contains(t) } else { false } }) {
                    reachable.insert(d.name); changed = true
                }
            }
        }
        // A dataset without any match is reported as such.
        return datasets.filter { !reachable.contains($0.name) && !$0.matches.isEmpty }.map { "dataset \($0.name) is not reachable from any identity" }
    }
}
