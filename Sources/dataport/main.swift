import DataPortCLI
#if canImport(Glibc)
import Glibc
#endif

// First, before any thread exists: every later thread inherits the blocked signals.
SignalCleanup.install()
exit(CLI.run(Array(CommandLine.arguments.dropFirst())))
