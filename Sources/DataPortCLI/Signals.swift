import DataPort
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Ends the process cleanly on SIGINT, SIGTERM and SIGHUP: removes every partial bundle being
/// written (`PartialFiles`) and exits with 128 + the signal's number (130, 143, 129).
///
/// The signals are blocked in every thread (threads inherit the mask of the one that creates them,
/// so this runs first) and taken by `sigwait` on one dedicated thread: ordinary Swift code, with
/// locks, instead of an async-signal handler.
package enum SignalCleanup {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Call once, before any other thread starts.
    package static func install() {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let blocked = set
        let thread = Thread {
            var wanted = blocked
            var signal: Int32 = 0
            while sigwait(&wanted, &signal) != 0 {}
            PartialFiles.removeAllAndExit(128 + signal)
        }
        thread.name = "dataport-signals"
        thread.start()
    }
}
