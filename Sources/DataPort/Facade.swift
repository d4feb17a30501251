// DataPort's one module for library users (and the CLI): importing `DataPort` brings every type its
// public signatures use, from the modules below it. The wrappers of C libraries, the archive
// writers and the compression and thread plumbing are `package`: shared between these modules,
// not part of the API.
@_exported import DataPortAge
@_exported import DataPortArchive
@_exported import DataPortBundle
@_exported import DataPortFormats
@_exported import DataPortIO
@_exported import DataPortImport
@_exported import DataPortModel
@_exported import DataPortStores
