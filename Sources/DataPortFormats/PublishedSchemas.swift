/// The published schemas, embedded so every bundle carries them in `schemas/`.
/// `formats/` holds the same texts (a test keeps the two identical).
public enum PublishedSchemas {
    public static let jsonDataset = ""
    public static let manifest = ""
}
