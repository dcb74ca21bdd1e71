/* Raw SQL on the store's file, as an attacker with write access to the database would run it. */
#ifndef VEIL_STORE_SQL_RAW_H
#define VEIL_STORE_SQL_RAW_H

#include <sqlite3.h>

#include "veil_test.h"

static inline void sql_raw(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    int rc;

    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        fail_msg("%s: %s", sql, err != NULL ? err : "?");
    }
    sqlite3_close(db);
}

#endif
