import DataPortModel
import DataPortStores

/// Which existing target rows belong to the bundle's subject, so that an import overwrites only
/// those: a row is the subject's when one of its dataset's match fields holds one of the identities
/// the bundle's manifest lists (or that the target's `yields` give from rows of this import), or
/// refers (a `references` match) to a row of the parent dataset that this import wrote or found
/// to be the subject's. A key held by anyone else's row refuses the
/// import, so a bundle cannot take over (or read back) another person's record.
final class SubjectOwnership {
    /// The subject's identities, normalised, by kind: the manifest's, and those the target's own
    /// `yields` give from rows of this import.
    private var identities: [IdentityKind: Set<String>]
    /// Parent datasets some match refers to: their keys in this import are collected.
    private let referenced: Set<String>
    /// Target keys (canonical text) of the rows of each referenced dataset in this import.
    private var keys: [String: Set<String>] = [:]

    init(subject: Subject, plans targets: [DatasetConfig]) {
        identities = Dictionary(grouping: subject.identities, by: \.kind).mapValues { Set($0.map(\.value)) }
        // Only references to a parent's key: that is what this import knows of the parent's rows.
        referenced = Set(targets.flatMap { target in
            target.matches.compactMap { match -> String? in
                guard case .reference(_, let parent, let key) = match, targets.first(where: { $0.name == parent })?.key == key else { return nil }
                return parent
            }
        })
    }

    /// Whether keys of `dataset` are collected (another dataset's match refers to it).
    func tracks(_ dataset: String) -> Bool { referenced.contains(dataset) }

    func add(_ dataset: String, keys new: [String]) { keys[dataset, default: []].formUnion(new) }

    /// Identities yielded by the subject's rows in the target (its own user ids, say).
    func add(_ kind: IdentityKind, identities new: [String]) {
        guard !new.isEmpty else { return }
        identities[kind, default: []].formUnion(new.map(kind.normalize))
    }

    /// Whether a stored match field's value (canonical text) ties its row to the subject.
    func holds(_ match: Match, _ text: String) -> Bool {
        switch match {
        case .identity(let kind, _): identities[kind]?.contains(kind.normalize(text)) ?? false
        case .reference(_, let parent, _): keys[parent]?.contains(text) ?? false
        }
    }
}
