#include <sqlite3.h>
/* SQLITE_TRANSIENT is a cast macro Swift cannot import. */
static inline sqlite3_destructor_type dataport_sqlite_transient(void) { return SQLITE_TRANSIENT; }
/* sqlite3_db_config is variadic, which Swift cannot call. Turning off double-quoted string
   literals makes a misspelt "column" an error instead of a silent string constant. */
static inline int dataport_sqlite_disable_dqs(sqlite3 *db) {
    int rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)0);
    if (rc == SQLITE_OK) rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)0);
    return rc;
}
/* initScript builds one database and nothing else: ATTACH (which creates a file at any path, and
   is what VACUUM INTO runs underneath) is denied, as is load_extension(). */
static int dataport_sqlite_deny_files(void *unused, int action, const char *a, const char *b, const char *c, const char *d) {
    (void)unused; (void)b; (void)c; (void)d;
    if (action == SQLITE_ATTACH) return SQLITE_DENY;
    if (action == SQLITE_FUNCTION && a && sqlite3_stricmp(a, "load_extension") == 0) return SQLITE_DENY;
    return SQLITE_OK;
}
static inline int dataport_sqlite_confine(sqlite3 *db) {
    int rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)0);
    if (rc == SQLITE_OK) rc = sqlite3_set_authorizer(db, dataport_sqlite_deny_files, (void *)0);
    return rc;
}
/* Extended result codes are macros of expressions, which Swift does not import. */
static inline int dataport_sqlite_constraint_trigger(void) { return SQLITE_CONSTRAINT_TRIGGER; }
/* sqlite3_config is variadic too. Without memory statistics, SQLite's allocator takes no global
   mutex on every allocation (each row a statement reads or binds); DataPort never reads them. */
static inline int dataport_sqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
