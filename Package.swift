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
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // The canonical subject-data model: values, records, datasets, subjects. No I/O.
        .target(name: "DataPortModel", swiftSettings: strict),
        // Byte streams, strict JSON, SHA-256: shared plumbing for formats, stores and bundles.
        .target(name: "DataPortIO", dependencies: ["DataPortModel", "CCrypto"], swiftSettings: strict),
        // Format adapters (JSON, CSV, XML) and their registry.
        .target(name: "DataPortFormats", dependencies: ["DataPortModel", "DataPortIO", "CLibXML2"], swiftSettings: strict),
        // Store connectors (SQLite, PostgreSQL, files, access logs), the stores config, the gather.
        .target(name: "DataPortStores", dependencies: ["DataPortModel", "DataPortIO", "CSQLite", "CPostgres"], swiftSettings: strict),
        // Bundles: zip and tar.gz containers, the manifest, verification.
        .target(name: "DataPortBundle", dependencies: ["DataPortModel", "DataPortIO", "DataPortFormats", "CZlib", "CISAL"], swiftSettings: strict),
        // The reverse path: a bundle into a store (id map, idempotent upserts, reconciliation).
        .target(name: "DataPortImport", dependencies: ["DataPortModel", "DataPortIO", "DataPortFormats", "DataPortStores", "DataPortBundle"], swiftSettings: strict),
        // The library API: export, convert, import pipelines.
        .target(name: "DataPort", dependencies: ["DataPortModel", "DataPortIO", "DataPortFormats", "DataPortStores", "DataPortBundle", "DataPortImport"], swiftSettings: strict),
        // The command line: one file per command, exit codes in one place.
        .target(name: "DataPortCLI", dependencies: ["DataPort"], swiftSettings: strict),
        .executableTarget(name: "dataport", dependencies: ["DataPortCLI"], swiftSettings: strict),
        // The benchmark: `swift run -c release dataport-bench --rows 1000000` (see README, Performance).
        .executableTarget(name: "dataport-bench", swiftSettings: strict),

        .testTarget(name: "DataPortTests", dependencies: ["DataPort", "DataPortCLI", "dataport"], swiftSettings: strict),
    ]
)
