import DataPortIO
import DataPortModel
import Foundation

/// Reading the top level of a stores config: the controller, identity kinds, limits, categories.
extension StoresConfig {
    /// The whole document, before the checks that need all of it (`check`).
    static func parseDocument(_ root: JSONObjectReader, file: String, baseDirectory: String, registry: StoreRegistry,
                              problems: ProblemList) throws -> StoresConfig {
        _ = root.value("$schema")
        let version = try root.string("version")
        guard version == "1" || root.isAbsent("version") else { throw root.error("unsupported config version \(version); this DataPort reads version 1") }
        let controller = try root.controller()
        var subjectName: (String, String)?
        if let s = try root.optionalObject("subjectName") {
            subjectName = (try s.string("dataset"), try s.string("field"))
            try s.finish()
        }
        let (forms, strengths) = try parseIdentityKinds(root)
        let resolution = try parseResolution(root)
        let presentation = try parsePresentation(language: try root.optionalString("language"), timeZone: try root.optionalString("timeZone")) {
            root.error($0)
        }
        let categories = try parseCategories(root)
        let stores = try root.objects("stores").map { try parseStore($0, baseDirectory: baseDirectory, registry: registry, problems: problems) }
        let objections = try root.optionalObject("objections").map { try ObjectionRule.parse($0, datasets: stores.flatMap(\.datasets)) } ?? [:]
        try root.finish()
        var config = StoresConfig(controller: controller, subjectName: subjectName, stores: stores, file: file)
        config.identityForms = forms
        config.identityStrengths = strengths
        config.resolution = resolution
        config.presentation = presentation
        config.categories = categories
        config.objections = objections
        return config
    }

    /// `identityKinds`: the form and strength of kinds the config declares.
    static func parseIdentityKinds(_ root: JSONObjectReader) throws -> ([IdentityKind: IdentityForm], [IdentityKind: IdentityStrength]) {
        var forms: [IdentityKind: IdentityForm] = [:]
        var strengths: [IdentityKind: IdentityStrength] = [:]
        guard let kinds = try root.optionalObject("identityKinds") else { return (forms, strengths) }
        for name in kinds.keys {
            guard Dataset.isValidName(name) else { throw kinds.error("identityKinds: kind '\(name)' must match [a-z][a-z0-9_]*") }
            let k = try kinds.object(name)
            if k.value("form") != nil {
                let form = try k.enumeration("form", IdentityForm.self)
                // A request's identities are normalised before the config is read: the built-in
                // kinds keep their forms.
                guard IdentityKind(name) != .email && IdentityKind(name) != .ip || form == IdentityKind(name).defaultForm else {
                    throw kinds.error("identityKinds.\(name).form: the form of \(name) is fixed (\(IdentityKind(name).defaultForm.rawValue))")
                }
                forms[IdentityKind(name)] = form
            }
            if k.value("strength") != nil { strengths[IdentityKind(name)] = try k.enumeration("strength", IdentityStrength.self) }
            try k.finish()
        }
        try kinds.finish()
        return (forms, strengths)
    }

    static func parseResolution(_ root: JSONObjectReader) throws -> ResolutionLimits {
        var resolution = ResolutionLimits.default
        guard let r = try root.optionalObject("resolution") else { return resolution }
        for (key, path) in [("maxIdentities", \ResolutionLimits.maxIdentities), ("maxRounds", \ResolutionLimits.maxRounds)] {
            guard let n = try r.optionalInteger(key) else { continue }
            guard (1...10_000_000).contains(n) else { throw r.error("resolution.\(key) must be between 1 and 10000000") }
            resolution[keyPath: path] = Int(n)
        }
        try r.finish()
        return resolution
    }

    /// `categories`: the ones the config defines besides the published vocabulary.
    static func parseCategories(_ root: JSONObjectReader) throws -> [(Category, LocalizedText, LocalizedText)] {
        var categories: [(Category, LocalizedText, LocalizedText)] = []
        guard let cs = try root.optionalObject("categories") else { return categories }
        for name in cs.keys {
            guard let c = Category(rawValue: name), !c.isBuiltIn else {
                throw cs.error("categories: '\(name)' must match [a-z][a-z0-9-]* and not be a published category (formats/categories.md)")
            }
            let o = try cs.object(name)
            guard let title = try localized(o, "title", in: "categories.\(name)"), let definition = try localized(o, "definition", in: "categories.\(name)") else {
                throw o.error("categories.\(name) needs a title and a definition")
            }
            try o.finish()
            categories.append((c, title, definition))
        }
        try cs.finish()
        return categories
    }

    /// A text given as one string or as an object of texts by language (`{"en": "...", "lt": "..."}`).
    static func localized(_ o: JSONObjectReader, _ key: String, in context: String) throws -> LocalizedText? {
        switch o.value(key) {
        case nil, .null?: return nil
        case .string(let s)?: return LocalizedText(s)
        case .object(let members)?:
            var texts: [String: String] = [:]
            for m in members {
                guard Presentation.languages.contains(m.key) else {
                    throw o.error("\(context): \(key) names language '\(m.key)'; known: \(Presentation.languages.joined(separator: ", "))")
                }
                guard case .string(let s) = m.value else { throw o.error("\(context): \(key).\(m.key) must be a string") }
                texts[m.key] = s
            }
            guard let fallback = texts["en"] ?? members.first.flatMap({ texts[$0.key] }) else { throw o.error("\(context): \(key) must not be empty") }
            return LocalizedText(fallback, byLanguage: texts)
        default: throw o.error("\(context): \(key) must be a string or an object of strings by language")
        }
    }
}
