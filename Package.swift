// swift-tools-version:6.0
import PackageDescription

/// Every Swift target gets the same strict settings.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "DataPort",
    products: [
        .library(name: "DataPort", targets: ["DataPort"]),
        .executable(name: "dataport", targets: ["dataport"]),
    ],
    targets: [
        // System libraries (C), wrapped by one Swift file each.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CISAL", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CMariaDB", pkgConfig: "libmariadb", providers: [.apt(["libmariadb-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Linux calls that Glibc's module hides behind _GNU_SOURCE (syncfs); libc itself, nothing to link.
        .systemLibrary(name: "CLinux"),

        // The canonical subject-data model: values, records, datasets, subjects. No I/O.
        .target(name: "DataPortModel", swiftSettings: strict),
        // Byte streams, strict JSON, SHA-256: shared plumbing for formats, stores and bundles.
        .target(name: "DataPortIO", dependencies: ["DataPortModel", "CCrypto", "CLinux"], swiftSettings: strict),
        // Encryption in the age v1 format (formats/encryption.md): an encrypting sink, a decrypting source.
        .target(name: "DataPortAge", dependencies: ["DataPortModel", "DataPortIO", "CCrypto"], swiftSettings: strict),
        // Containers and compression: zip and tar.gz writers and defensive readers, deflate (ISA-L, in
        // blocks on every core), CRC-32 (ISA-L) and inflate (zlib), archive limits.
        // Below the formats, so that zip-based formats (xlsx) use the same zip code as bundles.
        .target(name: "DataPortArchive", dependencies: ["DataPortModel", "DataPortIO", "CZlib", "CISAL"], swiftSettings: strict),
        // Format adapters (JSON, CSV, XML, XLSX), their registry, the JSON value codec the JSON family shares,
        // and the published schemas of the data files.
        .target(name: "DataPortFormats", dependencies: ["DataPortModel", "DataPortIO", "DataPortArchive", "CLibXML2"], swiftSettings: strict),
        // Store connectors (SQLite, PostgreSQL, MySQL/MariaDB, files, access logs), the stores config, the gather.
        .target(name: "DataPortStores", dependencies: ["DataPortModel", "DataPortIO", "CSQLite", "CPostgres", "CMariaDB"], swiftSettings: strict),
        // Bundles: the layout in a zip or tar.gz container, the manifest and its schema, verification, BagIt,
        // the Data Package, the offline site (index and dataset pages, message catalogues).
        .target(name: "DataPortBundle", dependencies: ["DataPortModel", "DataPortIO", "DataPortArchive", "DataPortFormats"], swiftSettings: strict),
        // The reverse path: a bundle into a store (id map, idempotent upserts, reconciliation).
        .target(name: "DataPortImport", dependencies: ["DataPortModel", "DataPortIO", "DataPortFormats", "DataPortStores", "DataPortBundle"], swiftSettings: strict),
        // The library API: export (one subject or a batch), convert, transfer (export into an import), the erasure,
        // objection and rectification requests with their receipts, encrypted input. Import itself is DataPortImport.
        .target(name: "DataPort", dependencies: ["DataPortModel", "DataPortIO", "DataPortAge", "DataPortFormats", "DataPortStores", "DataPortBundle", "DataPortImport"], swiftSettings: strict),
        // The command line: one file per command, exit codes in one place.
        .target(name: "DataPortCLI", dependencies: ["DataPort"], swiftSettings: strict),
        .executableTarget(name: "dataport", dependencies: ["DataPortCLI"], swiftSettings: strict),
        // The benchmark: `swift run -c release dataport-bench --rows 1000000` (see README, Performance).
        .executableTarget(name: "dataport-bench", dependencies: ["DataPortStores"], swiftSettings: strict),

        .testTarget(name: "DataPortTests", dependencies: ["DataPort", "DataPortAge", "DataPortCLI", "dataport"], swiftSettings: strict),
    ]
)
